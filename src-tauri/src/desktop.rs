//! The app as a desktop program people leave running: one instance (a
//! second launch shows the running window), the window's size and place
//! remembered, closing the window hides it to the tray (the notification
//! scheduler and sync go on), starting at login hidden, and the native menu
//! bar.
//!
//! The menu's items that act on the calendar are the window's own actions:
//! choosing one sends [`MENU_EVENT`] with the item's id and the window runs
//! the action its keyboard shortcut runs. Quit and About are the shell's.

use crate::AppState;
use tauri::menu::{AboutMetadata, Menu, MenuBuilder, MenuEvent, SubmenuBuilder};
use tauri::{AppHandle, Emitter, Manager, Runtime, Window, WindowEvent};

/// The window's event for a menu item it acts on (the item's id).
pub const MENU_EVENT: &str = "relcal://menu";
/// Started at login (the autostart entry passes it): open hidden, in the tray.
pub const HIDDEN_ARG: &str = "--hidden";
/// The main window's label (tauri.conf.json).
pub const MAIN: &str = "main";

/// The native menu's items that the window acts on: (id, label). The id is
/// what [`MENU_EVENT`] carries; `ui/src/lib/menu.ts` maps it to an action.
pub const FILE_ITEMS: [(&str, &str); 5] = [
    ("import", "Import plan…"),
    ("export", "Export plan…"),
    ("exportIcs", "Export iCalendar (.ics)…"),
    ("holidays", "Import holidays (.ics) as freezes…"),
    ("sync", "Sync with your team's server…"),
];
/// Edit.
pub const EDIT_ITEMS: [(&str, &str); 1] = [("undo", "Undo the last change")];
/// View.
pub const VIEW_ITEMS: [(&str, &str); 8] = [
    ("month", "Month"),
    ("week", "Week"),
    ("agenda", "Agenda"),
    ("timeline", "Team timeline"),
    ("goNoGo", "Go/no-go"),
    ("cab", "CAB agenda"),
    ("metrics", "Delivery metrics"),
    ("conflicts", "Conflicts"),
];
/// Help (About is the shell's own dialog).
pub const HELP_ITEMS: [(&str, &str); 1] = [("help", "Keyboard shortcuts")];
/// The menu item that quits (the tray's Quit does the same).
pub const QUIT: &str = "app.quit";

/// Whether this launch asks to open hidden (started at login).
pub fn launched_hidden() -> bool {
    std::env::args_os().skip(1).any(|a| a == HIDDEN_ARG)
}

/// Shows the main window and gives it the focus (a second launch, the
/// tray's Show, a clicked notification).
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// What the window remembers between runs: everything but whether it was
/// shown (a start at login opens hidden whatever the last run did).
fn remembered() -> tauri_plugin_window_state::StateFlags {
    use tauri_plugin_window_state::StateFlags;
    StateFlags::all() - StateFlags::VISIBLE
}

/// The desktop plugins, on the real app only: single instance first (a
/// second launch hands its arguments over and exits before anything else
/// starts), then the window's state, then the login entry.
pub fn plugins<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .callback(|app, _argv, _cwd| show_main(app))
                .build(),
        )
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(remembered())
                .build(),
        )
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .app_name("Relcal")
                .arg(HIDDEN_ARG)
                .build(),
        )
}

/// The native menu bar: File, Edit, View and Help.
pub fn menu<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let mut file = SubmenuBuilder::new(app, "File");
    for (id, label) in FILE_ITEMS {
        file = file.text(id, label);
    }
    let file = file
        .separator()
        .item(
            &tauri::menu::MenuItemBuilder::with_id(QUIT, "Quit Relcal")
                .accelerator("CmdOrCtrl+Q")
                .build(app)?,
        )
        .build()?;
    let mut edit = SubmenuBuilder::new(app, "Edit");
    for (id, label) in EDIT_ITEMS {
        edit = edit.text(id, label);
    }
    let mut view = SubmenuBuilder::new(app, "View");
    for (id, label) in VIEW_ITEMS {
        view = view.text(id, label);
    }
    let mut help = SubmenuBuilder::new(app, "Help");
    for (id, label) in HELP_ITEMS {
        help = help.text(id, label);
    }
    let about = AboutMetadata {
        name: Some("Relcal".to_owned()),
        version: Some(app.package_info().version.to_string()),
        comments: Some("Release windows, freezes and their conflicts, for every team.".to_owned()),
        license: Some("MIT OR Apache-2.0".to_owned()),
        ..AboutMetadata::default()
    };
    let help = help.separator().about(Some(about)).build()?;
    MenuBuilder::new(app)
        .items(&[&file, &edit.build()?, &view.build()?, &help])
        .build()
}

/// The window's action for a menu item (its id), or none for the shell's
/// own items and the tray's.
pub fn window_action(id: &str) -> Option<&'static str> {
    window_items().into_iter().find(|item| *item == id)
}

/// The ids of every item the window acts on, in menu order.
pub fn window_items() -> Vec<&'static str> {
    FILE_ITEMS
        .iter()
        .chain(&EDIT_ITEMS)
        .chain(&VIEW_ITEMS)
        .chain(&HELP_ITEMS)
        .map(|(id, _)| *id)
        .collect()
}

/// A menu item chosen: Quit here, the rest in the window (shown first).
pub fn on_menu<R: Runtime>(app: &AppHandle<R>, event: &MenuEvent) {
    let id = event.id().as_ref();
    if id == QUIT {
        app.exit(0);
    } else if let Some(action) = window_action(id) {
        show_main(app);
        let _ = app.emit_to(MAIN, MENU_EVENT, action);
    }
}

/// Whether closing the window keeps the app running: the setting, with a
/// tray icon to come back from (without one, or with no calendar open to
/// watch, the app quits).
fn keeps_running(state: &AppState) -> bool {
    state.tray.load(std::sync::atomic::Ordering::Relaxed)
        && crate::handle::read(state)
            .and_then(|s| relcal_api::background_settings(&s))
            .is_ok_and(|s| s.keep_running)
}

/// Closing the main window hides it to the tray while the setting says so;
/// the first time, a notification says the app is still running.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    if window.label() != MAIN {
        return;
    }
    let app = window.app_handle();
    let state = app.state::<AppState>();
    if !keeps_running(&state) {
        return; // The window closes, and with it the app.
    }
    api.prevent_close();
    let _ = window.hide();
    // Kept now, not only at exit: a logout ends the process without one.
    use tauri_plugin_window_state::AppHandleExt;
    if let Err(e) = app.save_window_state(remembered()) {
        tracing::warn!("the window's size and place were not saved: {e}");
    }
    let first = crate::handle::bookkeeping(&state)
        .and_then(|mut s| relcal_api::first_time_hidden(&mut s, relcal_api::clock::now()));
    match first {
        Ok(true) => {
            // Off the main thread: showing a notification is a D-Bus call.
            std::thread::spawn(|| {
                let shown = notify_rust::Notification::new()
                    .appname("Relcal")
                    .summary("Relcal is still running")
                    .body(
                        "Freeze and release notices keep coming. Open Relcal from its tray icon, \
                         or start it again; quit it from the tray or with File ▸ Quit. \
                         Settings ▸ Notifications can make closing the window quit instead.",
                    )
                    .show();
                if let Err(e) = shown {
                    tracing::warn!("could not say that Relcal keeps running: {e}");
                }
            });
        }
        Ok(false) => {}
        Err(e) => tracing::warn!("{e}"),
    }
}

/// The app's state of the login entry: whether it starts at login, or
/// `None` where it cannot (the plugin is not there: tests).
pub fn starts_at_login<R: Runtime>(app: &AppHandle<R>) -> Result<Option<bool>, String> {
    match app.try_state::<tauri_plugin_autostart::AutoLaunchManager>() {
        None => Ok(None),
        Some(m) => m.is_enabled().map(Some).map_err(|e| e.to_string()),
    }
}

/// Writes or removes the login entry.
pub fn set_start_at_login<R: Runtime>(app: &AppHandle<R>, on: bool) -> Result<(), String> {
    let Some(m) = app.try_state::<tauri_plugin_autostart::AutoLaunchManager>() else {
        return Err("starting at login is not available here".to_owned());
    };
    // The entry's Exec line holds the program's path unquoted: a path it
    // would misread is refused rather than written.
    if on {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let path = exe.to_string_lossy();
        if let Err(why) = exec_safe(&path) {
            return Err(format!(
                "Relcal's path {path} {why}; install it where the path has none"
            ));
        }
    }
    let done = if on { m.enable() } else { m.disable() };
    done.map_err(|e| e.to_string())
}

/// Whether a program path can stand unquoted in a desktop entry's Exec line.
fn exec_safe(path: &str) -> Result<(), &'static str> {
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("holds a space or a control character");
    }
    if path
        .chars()
        .any(|c| matches!(c, '%' | '"' | '\'' | '\\' | '`' | '$'))
    {
        return Err("holds a character a desktop entry reads specially (% \" ' \\ ` $)");
    }
    Ok(())
}

/// Held while this app has the database open, so no second Relcal opens it
/// (an OS lock beside it, released when the app ends however it ends).
pub struct DatabaseLock {
    _file: std::fs::File,
}

/// Takes the app's lock on the database at `path`, or says who holds it.
/// A calendar in memory needs none.
pub fn lock_database(path: &std::path::Path) -> Result<Option<DatabaseLock>, String> {
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") {
        return Ok(None);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The database's own folder: opening the store creates it too.
        let _ = std::fs::create_dir_all(dir);
    }
    // One lock per database, however it is reached (a symlink, `..`).
    let real = match (path.parent(), path.file_name()) {
        (Some(dir), Some(file)) => std::fs::canonicalize(if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        })
        .map(|d| {
            let joined = d.join(file);
            std::fs::canonicalize(&joined).unwrap_or(joined)
        })
        .unwrap_or_else(|_| path.to_owned()),
        _ => path.to_owned(),
    };
    let mut name = real.into_os_string();
    name.push(".app-lock");
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(std::path::PathBuf::from(name))
        .map_err(|e| format!("cannot lock the calendar {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(DatabaseLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "the calendar {} is already open in another Relcal (perhaps hidden in its tray, or in another session); quit that one first",
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(format!("cannot lock the calendar {}: {e}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test should fail loudly on a broken fixture"
    )]

    #[test]
    fn a_database_is_opened_by_one_app_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cal.db");
        let first = super::lock_database(&db).unwrap();
        assert!(first.is_some());
        let second = super::lock_database(&db).err().unwrap();
        assert!(
            second.contains("already open in another Relcal"),
            "{second}"
        );
        assert!(second.contains("cal.db"), "{second}");
        // Reached another way, it is the same database.
        let other_way = dir.path().join(".").join("cal.db");
        assert!(super::lock_database(&other_way).is_err());
        #[cfg(unix)]
        {
            let link = dir.path().join("link.db");
            std::fs::write(&db, b"").unwrap();
            std::os::unix::fs::symlink(&db, &link).unwrap();
            assert!(super::lock_database(&link).is_err(), "a symlink to it");
        }
        drop(first);
        assert!(super::lock_database(&db).unwrap().is_some());
        assert!(super::lock_database(std::path::Path::new(":memory:"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn the_menu_bar_is_file_edit_view_help_with_quit_and_about() {
        let app = tauri::test::mock_app();
        let menu = super::menu(app.handle()).unwrap();
        let bar: Vec<(String, Vec<String>)> = menu
            .items()
            .unwrap()
            .iter()
            .filter_map(|i| i.as_submenu().cloned())
            .map(|sub| {
                let items = sub
                    .items()
                    .unwrap()
                    .iter()
                    .filter_map(|i| match (i.as_menuitem(), i.as_predefined_menuitem()) {
                        (Some(m), _) => Some(m.text().unwrap()),
                        (None, Some(p)) => Some(p.text().unwrap()),
                        _ => None,
                    })
                    .filter(|t| !t.is_empty())
                    .collect();
                (sub.text().unwrap(), items)
            })
            .collect();
        let names: Vec<&str> = bar.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["File", "Edit", "View", "Help"]);
        let items = |menu: &str| bar.iter().find(|(n, _)| n == menu).unwrap().1.clone();
        assert_eq!(
            items("File"),
            [
                "Import plan…",
                "Export plan…",
                "Export iCalendar (.ics)…",
                "Import holidays (.ics) as freezes…",
                "Sync with your team's server…",
                "Quit Relcal"
            ]
        );
        assert_eq!(items("Edit"), ["Undo the last change"]);
        assert_eq!(
            items("View"),
            [
                "Month",
                "Week",
                "Agenda",
                "Team timeline",
                "Go/no-go",
                "CAB agenda",
                "Delivery metrics",
                "Conflicts"
            ]
        );
        let help = items("Help");
        assert_eq!(help[0], "Keyboard shortcuts");
        assert!(help[1].contains("About"), "{help:?}");
    }

    #[test]
    fn only_a_path_an_exec_line_reads_as_written_goes_in_the_login_entry() {
        assert!(super::exec_safe("/usr/bin/relcal-app").is_ok());
        assert!(super::exec_safe("/home/ana/My Apps/relcal-app").is_err());
        assert!(super::exec_safe("/opt/100%/relcal-app").is_err());
        assert!(super::exec_safe("/opt/a\nX-Evil=1/relcal-app").is_err());
    }

    #[test]
    fn every_window_item_of_the_menu_has_an_action_and_the_shell_items_do_not() {
        for (id, _) in super::FILE_ITEMS
            .iter()
            .chain(&super::EDIT_ITEMS)
            .chain(&super::VIEW_ITEMS)
            .chain(&super::HELP_ITEMS)
        {
            assert_eq!(super::window_action(id), Some(*id));
        }
        assert_eq!(super::window_action(super::QUIT), None);
        // The tray's items are its own.
        assert_eq!(super::window_action("quit"), None);
        assert_eq!(super::window_action("show"), None);
    }
}
