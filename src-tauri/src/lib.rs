//! The Relcal desktop shell: opens the calendar database and exposes the
//! use cases of `relcal-api` to the window as typed commands.
//!
//! Wiring only. A command parses its arguments, calls one `relcal_api`
//! function and returns its result; errors cross IPC as `{code, message}`.

#![deny(missing_docs)]

mod commands;
mod desktop;
mod handle;
mod live;
mod notifications;
mod sync;

use relcal_api::{ApiError, Store};
use relcal_domain::{ConflictSeverity, NoticeKind, ReleaseStatus};
use std::path::PathBuf;
use std::sync::Mutex;

/// The open calendar, or why it could not be opened (shown in the window).
pub struct AppState {
    store: Result<Mutex<Store>, ApiError>,
    db_path: Option<PathBuf>,
    /// The plan file chosen for import, between validation and the import.
    chosen_plan: Mutex<Option<PathBuf>>,
    /// Wakes the notification scheduler after a change.
    changed: tokio::sync::Notify,
    /// The background sync with the team's server.
    sync: sync::SyncState,
    /// The calendar and its conflicts kept warm (`relcal_api::Live`).
    live: live::LiveCell,
    /// No other Relcal opens this database while this one runs.
    _db_lock: Option<desktop::DatabaseLock>,
    /// The tray icon was made: closing the window may hide it there.
    tray: std::sync::atomic::AtomicBool,
}

/// Every command the window may call, once: the bindings' list
/// (`tauri_specta::collect_commands!`, generic commands on `tauri::Wry`)
/// and the invoke handler's (`tauri::generate_handler!`, generic commands on
/// whatever runtime the app is built for) are both made from it.
macro_rules! app_commands {
    ($mode:ident) => {
        app_commands!(@list $mode;
            calendar_view,
            conflicts,
            move_release,
            release_detail,
            catalog,
            release_input,
            save_release,
            preview_release,
            find_slot,
            set_release_status,
            app_info,
            settings,
            save_team,
            save_service,
            save_environment,
            freeze_input,
            preview_freeze,
            save_freeze,
            delete_object,
            undo_change,
            choose_plan_file [Wry],
            import_chosen_plan,
            export_plan [Wry],
            user_name,
            set_user_name,
            approve_release,
            revoke_approval,
            request_override,
            ask_exception,
            approve_exception_request,
            decline_exception_request,
            withdraw_exception_request,
            go_no_go,
            agenda,
            metrics_view,
            notify_settings,
            save_notify_settings,
            risk_weights,
            save_risk_weights,
            checklist_templates,
            save_checklist_templates,
            apply_checklist_template,
            set_checklist_item,
            save_rollback,
            export_ics [Wry],
            import_holidays [Wry],
            sync_view,
            connect_sync [Wry],
            disconnect_sync,
            sync_now [Wry],
            sync_conflicts,
            resolve_sync_conflict,
            connections,
            save_connections,
            run_connections [Wry],
            background_settings [Wry],
            save_background_settings [Wry]
        )
    };
    (@list specta; $($name:ident $([$runtime:ident])?),*) => {
        tauri_specta::collect_commands![$(commands::$name $(::<tauri::$runtime>)?),*]
    };
    (@list handler; $($name:ident $([$runtime:ident])?),*) => {
        tauri::generate_handler![$(commands::$name),*]
    };
}

/// The typed command set; also what exports `ui/src/lib/bindings.ts`.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    // Our IPC types only travel from Rust to the UI, so one unified shape per
    // type is simpler than separate serialize/deserialize variants.
    tauri_specta::Builder::<tauri::Wry>::new()
        .disable_serde_phases()
        .commands(app_commands!(specta))
        // The domain's closed lists, so the window never re-lists them.
        .constant(
            "RELEASE_STATUSES",
            ReleaseStatus::ALL.map(ReleaseStatus::as_str),
        )
        .constant(
            "ACTIVE_STATUSES",
            ReleaseStatus::ALL
                .into_iter()
                .filter(|s| s.is_active())
                .map(ReleaseStatus::as_str)
                .collect::<Vec<_>>(),
        )
        .constant(
            "SEVERITIES",
            ConflictSeverity::ALL.map(ConflictSeverity::as_str),
        )
        .constant("NOTICE_KINDS", NoticeKind::ALL.map(NoticeKind::as_str))
        // The native menu's items the window acts on (`relcal://menu`).
        .constant("MENU_ITEMS", desktop::window_items())
        // The risk model's own weights (Settings ▸ Risk's reset), from the domain.
        .constant("DEFAULT_RISK_WEIGHTS", relcal_api::RiskWeights::default())
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    specta_builder()
        .export(
            specta_typescript::Typescript::default()
                .header("// Generated by `make bindings` from the Rust types. Do not edit."),
            path,
        )
        .map_err(|e| e.to_string())
}

/// Which database: `--db FILE`, else `RELCAL_DB`, else the platform default.
fn chosen_db_path() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--db" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.to_str().and_then(|a| a.strip_prefix("--db=")) {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("RELCAL_DB")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The app's state over the database at `db_path` (none: the calendar is
/// unavailable, and the window says why).
pub fn open_state(db_path: Option<PathBuf>) -> AppState {
    // The lock first: a calendar another Relcal has open is not opened at all.
    let lock = match db_path.as_deref().map(desktop::lock_database) {
        Some(Err(why)) => Err(ApiError::new(relcal_api::ErrorCode::Unavailable, why)),
        Some(Ok(lock)) => Ok(lock),
        None => Ok(None),
    };
    let (store, lock) = match lock {
        Ok(lock) => (
            relcal_api::open_calendar(db_path.as_deref(), relcal_api::clock::now())
                .and_then(|mut s| relcal_api::load_user_name(&mut s).map(|_| s))
                .map(Mutex::new),
            lock,
        ),
        Err(e) => (Err(e), None),
    };
    if let Err(e) = &store {
        tracing::error!("cannot open the calendar: {e}");
    }
    AppState {
        store,
        db_path,
        chosen_plan: Mutex::new(None),
        changed: tokio::sync::Notify::new(),
        sync: sync::SyncState::default(),
        live: live::LiveCell::default(),
        _db_lock: lock,
        tray: std::sync::atomic::AtomicBool::new(false),
    }
}

/// Opens the warm calendar on a thread, with its progress sent to the
/// window; later openings (after a change to freezes or teams, or a
/// failure) go the same way. The app does this at start.
pub fn open_warm_calendar<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    live::open_in_background(app.clone());
}

/// The app on runtime `R` over `state`: its plugins, commands and, with
/// `background`, its background work once it runs (the warm calendar, the
/// notification scheduler, sync and the followed systems). `run` builds it
/// on the real webview; the tests on Tauri's mock runtime.
pub fn build_app<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    state: AppState,
    background: bool,
) -> tauri::Builder<R> {
    // The desktop's plugins (single instance first) on the real app only.
    let builder = if background {
        desktop::plugins(builder).on_window_event(desktop::on_window_event)
    } else {
        builder
    };
    builder
        .plugin(tauri_plugin_dialog::init())
        .manage(state)
        .setup(move |app| {
            if background {
                let handle = app.handle();
                match desktop::menu(handle) {
                    Ok(menu) => {
                        if let Err(e) = app.set_menu(menu) {
                            tracing::warn!("no menu bar: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("no menu bar: {e}"),
                }
                app.on_menu_event(|app, event| desktop::on_menu(app, &event));
                // Started at login: stay in the tray until asked for.
                if !desktop::launched_hidden() {
                    desktop::show_main(handle);
                }
                open_warm_calendar(app.handle());
                tauri::async_runtime::spawn(notifications::scheduler(app.handle().clone()));
                tauri::async_runtime::spawn(sync::run(app.handle().clone()));
                tauri::async_runtime::spawn(sync::follow_connections(app.handle().clone()));
            }
            Ok(())
        })
        .invoke_handler(app_commands!(handler))
}

/// Runs the app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RELCAL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = relcal_api::clock::init() {
        tracing::error!("{e}; using the system clock");
    }
    let db_path = chosen_db_path().or_else(|| relcal_api::default_db_path().ok());
    let result = build_app(tauri::Builder::default(), open_state(db_path), true)
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("relcal-app: cannot start: {e}");
        std::process::exit(3);
    }
}

#[cfg(test)]
mod tests {
    /// CI fails when the committed bindings differ from what the Rust types
    /// generate. `RELCAL_UPDATE_BINDINGS=1` rewrites them instead.
    #[test]
    fn typescript_bindings_are_current() {
        let committed =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
        if std::env::var_os("RELCAL_UPDATE_BINDINGS").is_some() {
            super::export_bindings(&committed).expect("export bindings");
            return;
        }
        let dir = std::env::temp_dir().join(format!("relcal-bindings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let fresh = dir.join("bindings.ts");
        super::export_bindings(&fresh).expect("export bindings");
        let fresh = std::fs::read_to_string(fresh).expect("read fresh bindings");
        let old = std::fs::read_to_string(&committed).unwrap_or_default();
        assert!(
            fresh == old,
            "ui/src/lib/bindings.ts is out of date: run `make bindings` and commit the result"
        );
    }
}
