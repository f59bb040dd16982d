//! The notification scheduler of the app: a tokio task that asks the API for
//! what is due, shows it on the desktop, and sleeps until the next notice, a
//! change in the calendar, or a minute (so a resumed laptop or a changed
//! clock is noticed). Clicking a notification opens its release or freeze.

use crate::AppState;
use relcal_api::OutgoingNotice;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// What a clicked notification asks the window to open.
#[derive(Debug, Clone, Serialize)]
struct OpenTarget {
    kind: String,
    id: String,
}

/// The window's event for a clicked notification.
pub const OPEN_EVENT: &str = "relcal://open";

pub(crate) fn show<R: Runtime>(app: &AppHandle<R>, notice: &OutgoingNotice) -> Result<(), String> {
    let mut n = notify_rust::Notification::new();
    n.appname("Relcal")
        .summary(&notice.summary)
        .body(&notice.body);
    let target = notice
        .target_kind
        .clone()
        .zip(notice.target_id.clone())
        .map(|(kind, id)| OpenTarget { kind, id });
    if target.is_some() {
        n.action("default", "Open");
    }
    let handle = n.show().map_err(|e| e.to_string())?;
    #[cfg(all(unix, not(target_os = "macos")))]
    if let Some(target) = target {
        let app = app.clone();
        // Waits for the click (or the close) off the async runtime.
        std::thread::spawn(move || {
            handle.wait_for_action(|action| {
                if action == "default" {
                    crate::desktop::show_main(&app);
                    let _ = app.emit(OPEN_EVENT, target);
                }
            });
        });
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let _ = (app, handle, target);
    Ok(())
}

/// The tray icon and the menu items it updates.
pub struct Tray<R: Runtime> {
    icon: tauri::tray::TrayIcon<R>,
    next: tauri::menu::MenuItem<R>,
    conflicts: tauri::menu::MenuItem<R>,
}

/// Creates the tray icon (where the platform has one): the next freeze, the
/// open conflicts, Show and Quit. A desktop without a tray only logs it.
pub fn create_tray<R: Runtime>(app: &AppHandle<R>) -> Option<Tray<R>> {
    use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
    let build = || -> tauri::Result<Tray<R>> {
        let next = MenuItem::with_id(app, "next", "Next freeze: …", false, None::<&str>)?;
        let conflicts =
            MenuItem::with_id(app, "conflicts", "Open conflicts: …", false, None::<&str>)?;
        let show = MenuItem::with_id(app, "show", "Show Relcal", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit Relcal", true, None::<&str>)?;
        let separator = PredefinedMenuItem::separator(app)?;
        let menu = Menu::with_items(app, &[&next, &conflicts, &separator, &show, &quit])?;
        let mut builder = tauri::tray::TrayIconBuilder::with_id("relcal")
            .menu(&menu)
            .tooltip("Relcal")
            .on_menu_event(|app, event| match event.id.as_ref() {
                "show" => crate::desktop::show_main(app),
                "quit" => app.exit(0),
                _ => {}
            });
        if let Some(icon) = app.default_window_icon() {
            builder = builder.icon(icon.clone());
        }
        let icon = builder.build(app)?;
        Ok(Tray {
            icon,
            next,
            conflicts,
        })
    };
    match build() {
        Ok(tray) => Some(tray),
        Err(e) => {
            tracing::warn!("no tray icon: {e}");
            None
        }
    }
}

fn update_tray<R: Runtime>(tray: &Tray<R>, status: relcal_api::TrayStatus) {
    let next = status.next_freeze.map_or_else(
        || "No freeze within 60 days".to_owned(),
        |f| format!("Next freeze: {f}"),
    );
    let conflicts = format!("Open conflicts: {}", status.open_conflicts);
    let _ = tray.next.set_text(&next);
    let _ = tray.conflicts.set_text(&conflicts);
    let _ = tray
        .icon
        .set_tooltip(Some(format!("Relcal · {next} · {conflicts}")));
}

/// What one scheduler step did: the run (the notices due now, shown and
/// recorded) and the tray's status (from the run, or read alone when the
/// run failed); or nothing yet, while the warm calendar opens.
type Step = Option<(
    Result<relcal_api::NotifyRun, relcal_api::ApiError>,
    Option<relcal_api::TrayStatus>,
)>;

/// One scheduler step, from the warm calendar when it is open (nothing is
/// checked again), else from the whole calendar.
fn step<R: Runtime>(store: &mut relcal_api::Store, app: &AppHandle<R>) -> Step {
    let now = relcal_api::clock::now();
    let state = app.state::<AppState>();
    /// What the warm state gave, to run once it is let go of.
    enum Taken {
        Warm(
            Box<relcal_api::PreparedNotifications>,
            relcal_api::TrayStatus,
        ),
        Done(Step),
    }
    let outcome = crate::live::with_live(
        &state.live,
        &mut &mut *store,
        now,
        |live, store| {
            // Only what the run needs is taken under the warm state's lock:
            // showing a notice is a D-Bus call, and the window's commands
            // wait for that lock.
            let prepared = live.prepare_notifications(store, now)?;
            Ok(Taken::Warm(Box::new(prepared), live.tray_status(now)))
        },
        // Opening: wait for it rather than check the whole calendar beside it.
        Some(&|_| Taken::Done(None)),
        |store| {
            let run = relcal_api::run_notifications(store, now, &mut |n| show(app, n));
            let tray = match &run {
                Ok(run) => Some(run.tray.clone()),
                // No run to read the tray from (a notification could not be shown).
                Err(_) => relcal_api::tray_status(store, now).ok(),
            };
            Ok(Taken::Done(Some((run, tray))))
        },
    );
    match outcome {
        Ok(Taken::Warm(prepared, tray)) => {
            let run = prepared.run(store, &mut |n| show(app, n));
            Some((run, Some(tray)))
        }
        Ok(Taken::Done(step)) => step,
        Err(e) => Some((Err(e), None)),
    }
}

/// A connection of the scheduler's own: a step reads and checks the whole
/// calendar (seconds for a large one), and the window's commands must not
/// wait for it. `None` for a calendar in memory (it then shares the window's).
fn own_connection(state: &AppState) -> Option<relcal_api::Store> {
    let (path, user) = {
        let store = crate::handle::read(state).ok()?;
        (store.path().to_owned(), store.actor().to_owned())
    };
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        return None;
    }
    match relcal_api::open_store(&path) {
        Ok(mut store) => {
            store.set_actor(&user);
            Some(store)
        }
        Err(e) => {
            tracing::warn!("notifications: no connection of their own ({e}); sharing the window's");
            None
        }
    }
}

/// Runs until the app exits.
pub async fn scheduler<R: Runtime>(app: AppHandle<R>) {
    let tray = create_tray(&app);
    app.state::<AppState>()
        .tray
        .store(tray.is_some(), std::sync::atomic::Ordering::Relaxed);
    let mut own = own_connection(&app.state::<AppState>());
    loop {
        let state = app.state::<AppState>();
        let outcome = match own.take() {
            Some(mut store) => {
                let handle = app.clone();
                match tauri::async_runtime::spawn_blocking(move || {
                    let outcome = step(&mut store, &handle);
                    (store, outcome)
                })
                .await
                {
                    Ok((store, outcome)) => {
                        own = Some(store);
                        Some(outcome)
                    }
                    Err(e) => {
                        tracing::warn!("notifications: the step failed: {e}");
                        own = own_connection(&state);
                        None
                    }
                }
            }
            None => match crate::handle::bookkeeping(&state) {
                Err(_) => None,
                Ok(mut store) => Some(step(&mut store, &app)),
            },
        };
        // While the calendar opens, look again in a second.
        let opening = matches!(outcome, Some(None));
        let next = outcome.flatten().and_then(|(run, status)| {
            if let (Some(tray), Some(status)) = (&tray, status) {
                update_tray(tray, status);
            }
            match run {
                Ok(run) => {
                    if !run.sent.is_empty() {
                        tracing::info!(sent = run.sent.len(), "notifications shown");
                    }
                    run.next_at
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.to_utc())
                }
                Err(e) => {
                    tracing::warn!("notifications: {}", e.message);
                    None
                }
            }
        });
        let wait = next
            .map(|t| (t - relcal_api::clock::now()).num_milliseconds())
            .unwrap_or(if opening { 1_000 } else { 60_000 })
            .clamp(1_000, 60_000);
        let wait = std::time::Duration::from_millis(u64::try_from(wait).unwrap_or(60_000));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.changed.notified() => {}
        }
    }
}
