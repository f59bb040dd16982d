//! The notification scheduler of the app: a tokio task that asks the API for
//! what is due, shows it on the desktop, and sleeps until the next notice, a
//! change in the calendar, or a minute (so a resumed laptop or a changed
//! clock is noticed). Clicking a notification opens its release or freeze.

use crate::AppState;
use chrono::Utc;
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

fn show<R: Runtime>(app: &AppHandle<R>, notice: &OutgoingNotice) -> Result<(), String> {
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
                    if let Some(w) = app.get_webview_window("main") {
                        let _ = w.show();
                        let _ = w.set_focus();
                    }
                    let _ = app.emit(OPEN_EVENT, target);
                }
            });
        });
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let _ = (app, handle, target);
    Ok(())
}

/// Runs until the app exits.
pub async fn scheduler<R: Runtime>(app: AppHandle<R>) {
    loop {
        let state = app.state::<AppState>();
        let next = match &state.store {
            Err(_) => None,
            Ok(store) => {
                let result = match store.lock() {
                    Ok(mut store) => {
                        relcal_api::run_notifications(&mut store, Utc::now(), &mut |n| {
                            show(&app, n)
                        })
                    }
                    Err(_) => return,
                };
                match result {
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
            }
        };
        let wait = next
            .map(|t| (t - Utc::now()).num_milliseconds())
            .unwrap_or(60_000)
            .clamp(1_000, 60_000);
        let wait = std::time::Duration::from_millis(u64::try_from(wait).unwrap_or(60_000));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.changed.notified() => {}
        }
    }
}
