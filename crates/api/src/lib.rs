//! Relcal's use cases, in one place.
//!
//! The CLI (`crates/cli`), the Tauri commands (`src-tauri`) and, later, the
//! server call these functions and nothing below them. Each function takes
//! what it needs (a [`Store`], the current time) and returns typed results or
//! an [`ApiError`] whose [`ErrorCode`] crosses IPC as `{code, message}`.
//!
//! Architecture invariant: lower crates (`domain`, `store`) never depend on
//! this one; this crate knows nothing of Tauri, clap or HTTP.

#![deny(missing_docs)]

mod adapters;
mod adapters_run;
mod agenda;
mod approvals;
mod audit;
mod background;
mod calendar;
mod check;
pub mod clock;
mod edit;
mod error;
mod exception_requests;
mod freeze_form;
mod gate;
mod gonogo;
mod holidays;
mod json_setting;
mod live;
mod metrics;
mod notify;
mod plan;
mod push;
mod readiness;
mod release;
mod release_detail;
mod release_form;
mod risk;
mod settings;
mod slot;
mod sync_client;
mod sync_conflicts;
mod sync_divergence;
mod templates;
mod undo;
mod write;

pub use agenda::{
    agenda, agenda_markdown, agenda_of_store, Agenda, AgendaGroup, AgendaItem, AgendaView,
    AGENDA_MAX_DAYS,
};
pub use audit::{
    audit_log, audit_verify, audit_verify_anchored, load_user_name, set_user_name, AuditVerdict,
    AuditView,
};
pub use background::{
    background_settings, first_time_hidden, save_background_settings, BackgroundSettings,
};
pub use calendar::{calendar_view, CalendarView, FreezePeriod, ReleaseEvent, TeamSummary};
pub use check::{
    check_conflicts, check_plan, check_plan_with_dst, check_store, conflicts_view, dst_reports,
    summary_of, CheckReport, CheckSummary, ConflictBadge, ConflictItem, ConflictReport,
    ConflictsView, DST_HORIZON_DAYS,
};
pub use edit::{
    delete_object, restore_object, save_environment, save_freeze, save_service, save_team,
    EnvironmentInput, FreezeInput, ServiceInput, TeamInput,
};
pub use error::{ApiError, ErrorCode};
pub use exception_requests::{
    approve_exception_request, ask_exception, decline_exception_request, exception_requests,
    exchange_requests, withdraw_exception_request, RequestsExchanged,
};
pub use freeze_form::{freeze_input, preview_freeze, FreezePreview, PeriodView};
pub use gate::{gate_plan, gate_recheck_at, gate_timeout, GateFreeze, GateReport, GATE_RECHECK};
pub use holidays::{import_holidays, HolidayImport};
pub use live::{Freshness, Live, OpenProgress, PreparedNotifications};
pub use metrics::{
    audit_facts, entered_from_audit, metrics_report, metrics_view, AuditFacts, MetricFigures,
    MetricFreeze, MetricRelease, MetricReleases, MetricWeek, MetricsReport, MetricsView,
    METRICS_VIEW_MAX_DAYS,
};
pub use plan::{
    default_db_path, export_plan_file, export_plan_ics, export_plan_json, import_plan_file,
    import_plan_text, inspect_plan_file, inspect_plan_file_for, open_calendar, open_store,
    seed_demo_if_new, stored_plan, validate_plan_text, DEMO_PLAN,
};
pub use push::{
    argocd_sync_windows, push_gitlab_freezes, sync_windows_yaml, FreezeFilter, GitLabPushReport,
    PushedPeriod, Refusal, SyncWindow, SyncWindows,
};
pub use relcal_domain::RiskWeights;
pub use relcal_domain::{Interval, ObjectKind};
pub use relcal_protocol::{ExceptionRequest, RequestState};
pub use risk::{
    risk_report, risk_view, risk_weights, save_risk_weights, ReleaseRisk, RiskFactorView,
    RiskReport, RiskView,
};
pub use settings::{settings, FreezeSummary, Settings, Usage};
pub use slot::{slot_plan, SlotReport, SlotRequest, SlotSkip, SLOT_WITHIN_DEFAULT};

pub use adapters::{
    adapter_runs, adapter_settings, apply_github_releases, apply_gitlab_deployments,
    freeze_from_gitlab, import_gitlab_freezes, record_adapter_run, save_adapter_settings,
    AdapterReport, AdapterRun, AdapterSettings,
};
pub use adapters_run::{poll_github_releases, run_adapters};
pub use approvals::{
    approve_release, grant_exception, request_override, request_override_until, revoke_approval,
};
pub use gonogo::{go_no_go, GoNoGo, GoNoGoRow};
pub use notify::{
    notify_settings, run_notifications, save_notify_settings, tray_status, NotifyRun,
    NotifySettings, OutgoingNotice, TrayStatus,
};
pub use readiness::{
    apply_checklist_template, save_rollback, set_checklist_item, ChecklistItemInput,
};
pub use relcal_domain::Plan;
pub use relcal_protocol::{
    Changes, Forges, GitHubRelease, GitHubReleases, GitLabDeployment, GitLabEnvironment,
    GitLabFreezePeriod, ImportChanges, ImportSummary, Mutation, MutationResult, Transport,
    MAX_BATCH, PUSH_CHUNK,
};
pub use relcal_store::Store;
pub use release::{move_release, set_release_status};
pub use release_detail::{
    release_detail, ApprovalView, ChecklistView, ExceptionRequestView, OverrideView, ReleaseDetail,
    ReleaseLink, RollbackView,
};
pub use release_form::{
    catalog, preview_release, release_input, save_release, Catalog, CatalogEntry, ReleaseInput,
    ReleasePreview,
};
pub use sync_client::{
    record_sync_error, set_sync_server, sync_and_record, sync_once, sync_server, sync_status,
    sync_with, SyncReport, SyncStatus,
};
pub use sync_conflicts::{
    resolve_sync_conflict, sync_conflict_views, sync_conflicts, SyncConflictField, SyncConflictView,
};
pub use templates::{
    checklist_templates, save_checklist_templates, ChecklistTemplate, ChecklistTemplates,
    TemplateItem,
};
pub use undo::{undo_change, Undo};
pub use write::{Change, ChangeAction, ReleaseAfter};
