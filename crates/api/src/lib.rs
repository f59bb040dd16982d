//! Relcal's use cases, in one place.
//!
//! The CLI (`crates/cli`), the Tauri commands (`src-tauri`) and, later, the
//! server call these functions and nothing below them. Each function takes
//! what it needs (a [`Store`], the current time) and returns typed results or
//! an [`ApiError`] whose [`ErrorCode`] crosses IPC as `{code, message}`.
//!
//! Architecture invariant: lower crates (`domain`, `store`) never depend on
//! this one; this crate knows nothing of Tauri, clap or HTTP.

mod adapters;
mod adapters_run;
mod audit;
mod calendar;
mod check;
pub mod clock;
mod edit;
mod error;
mod gate;
mod live;
mod notify;
mod plan;
mod readiness;
mod release;
mod sync_client;

pub use audit::{audit_log, audit_verify, load_user_name, set_user_name, AuditVerdict, AuditView};
pub use calendar::{calendar_view, CalendarView, FreezePeriod, ReleaseEvent, TeamSummary};
pub use check::{
    check_conflicts, check_plan, check_store, conflicts_view, stored_plan, summary_of, CheckReport,
    CheckSummary, ConflictBadge, ConflictItem, ConflictReport, ConflictsView,
};
pub use edit::{
    delete_object, freeze_input, import_holidays, preview_freeze, restore_object, save_environment,
    save_freeze, save_service, save_team, settings, EnvironmentInput, FreezeInput, FreezePreview,
    FreezeSummary, HolidayImport, ObjectChange, PeriodView, ServiceInput, Settings, TeamInput,
    Usage,
};
pub use error::{ApiError, ErrorCode};
pub use gate::{gate_plan, GateFreeze, GateReport};
pub use live::{Freshness, Live, OpenProgress};
pub use plan::{
    default_db_path, export_plan_file, export_plan_ics, export_plan_json, import_plan_file,
    import_plan_text, inspect_plan_file, open_calendar, open_store, seed_demo_if_new,
    validate_plan_text, DEMO_PLAN,
};
pub use relcal_domain::{Interval, ObjectKind};

pub use adapters::{
    adapter_runs, adapter_settings, apply_github_releases, apply_gitlab_deployments,
    freeze_from_gitlab, import_gitlab_freezes, record_adapter_run, save_adapter_settings,
    AdapterReport, AdapterRun, AdapterSettings,
};
pub use adapters_run::{poll_github_releases, run_adapters};
pub use notify::{
    notify_settings, run_notifications, save_notify_settings, tray_status, NotifyRun,
    NotifySettings, OutgoingNotice, TrayStatus,
};
pub use readiness::{
    apply_checklist_template, checklist_templates, go_no_go, save_checklist_templates,
    save_rollback, set_checklist_item, ChecklistItemInput, ChecklistTemplate, ChecklistTemplates,
    GoNoGo, GoNoGoRow, TemplateItem,
};
pub use relcal_domain::Plan;
pub use relcal_protocol::{
    Change, Changes, Forges, GitHubRelease, GitHubReleases, GitLabDeployment, GitLabEnvironment,
    GitLabFreezePeriod, ImportSummary, Mutation, MutationResult, Transport, MAX_BATCH, PUSH_CHUNK,
};
pub use relcal_store::Store;
pub use release::{
    approve_release, catalog, move_release, preview_release, release_detail, release_input,
    request_override, revoke_approval, save_release, set_release_status, ApprovalView, Catalog,
    CatalogEntry, ChecklistView, OverrideView, ReleaseChange, ReleaseDetail, ReleaseInput,
    ReleaseLink, ReleasePreview, RollbackView,
};
pub use sync_client::{
    record_sync_error, resolve_sync_conflict, set_sync_server, sync_and_record,
    sync_conflict_views, sync_conflicts, sync_once, sync_server, sync_status, SyncConflictField,
    SyncConflictView, SyncReport, SyncStatus,
};
