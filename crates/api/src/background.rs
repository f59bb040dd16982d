//! How the desktop app lives in the background: whether closing its window
//! keeps it running in the tray (so notifications still come), and whether
//! it has told the person so yet.
//!
//! Whether it starts at login is not kept here: the login entry itself (an
//! XDG autostart file on Linux) is the one place that says so, and the app
//! reads it from there.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use relcal_store::Store;
use serde::{Deserialize, Serialize};

const SETTINGS_KEY: &str = "background";
/// Set once the app has said it keeps running after its window closed.
const TOLD_KEY: &str = "background_told";

/// The app's background settings, as Settings ▸ Notifications edits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(deny_unknown_fields)]
pub struct BackgroundSettings {
    /// Closing the window hides it to the tray; the scheduler and sync go on.
    /// Off: closing the window quits the app.
    pub keep_running: bool,
}

impl Default for BackgroundSettings {
    fn default() -> Self {
        Self { keep_running: true }
    }
}

/// The background settings (defaults when never saved).
pub fn background_settings(store: &Store) -> Result<BackgroundSettings, ApiError> {
    crate::json_setting::read(
        store,
        SETTINGS_KEY,
        "background settings",
        BackgroundSettings::default,
    )
}

/// Saves the background settings, audited.
pub fn save_background_settings(
    store: &mut Store,
    settings: BackgroundSettings,
    now: DateTime<Utc>,
) -> Result<BackgroundSettings, ApiError> {
    let before = background_settings(store)?;
    if before == settings {
        return Ok(settings);
    }
    crate::json_setting::save(
        store,
        SETTINGS_KEY,
        "settings.background",
        (&before, &settings),
        now,
    )?;
    Ok(settings)
}

/// True the first time it is asked for this database, false ever after:
/// whether to say "Relcal is still running" as the window hides.
pub fn first_time_hidden(store: &mut Store, now: DateTime<Utc>) -> Result<bool, ApiError> {
    if store.setting(TOLD_KEY)?.is_some() {
        return Ok(false);
    }
    let rec = crate::audit::record(
        store,
        now,
        "settings.background_told",
        ("settings", TOLD_KEY),
        None,
        Some(&serde_json::Value::Bool(true)),
    );
    store.set_setting(TOLD_KEY, "true", &[rec])?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("cal.db")).expect("open");
        (dir, store)
    }

    #[test]
    fn keeps_running_unless_turned_off_and_the_change_is_audited() {
        let (_dir, mut s) = store();
        let now = Utc
            .with_ymd_and_hms(2027, 1, 4, 9, 0, 0)
            .single()
            .expect("time");
        assert!(background_settings(&s).expect("read").keep_running);
        let saved = save_background_settings(
            &mut s,
            BackgroundSettings {
                keep_running: false,
            },
            now,
        )
        .expect("save");
        assert!(!saved.keep_running);
        assert!(!background_settings(&s).expect("read").keep_running);
        let log = crate::audit_log(&s, None).expect("audit");
        assert!(
            log.iter().any(|e| e.action == "settings.background"),
            "{log:?}"
        );
    }

    #[test]
    fn says_it_is_still_running_once_per_database() {
        let (dir, mut s) = store();
        let now = Utc
            .with_ymd_and_hms(2027, 1, 4, 9, 0, 0)
            .single()
            .expect("time");
        assert!(first_time_hidden(&mut s, now).expect("first"));
        assert!(!first_time_hidden(&mut s, now).expect("second"));
        drop(s);
        let mut again = Store::open(&dir.path().join("cal.db")).expect("reopen");
        assert!(!first_time_hidden(&mut again, now).expect("after a restart"));
    }
}
