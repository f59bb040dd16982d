fn main() {
    // Declaring the app's commands makes capabilities gate them: a command not
    // granted in capabilities/ cannot be invoked from the window.
    let manifest = tauri_build::AppManifest::new().commands(&[
        "calendar_view",
        "conflicts",
        "move_release",
        "release_detail",
        "catalog",
        "release_input",
        "save_release",
        "preview_release",
        "set_release_status",
        "app_info",
        "settings",
        "save_team",
        "save_service",
        "save_environment",
        "freeze_input",
        "preview_freeze",
        "save_freeze",
        "delete_object",
        "restore_object",
        "choose_plan_file",
        "import_chosen_plan",
        "export_plan",
        "user_name",
        "set_user_name",
        "approve_release",
        "revoke_approval",
        "request_override",
        "go_no_go",
        "notify_settings",
        "save_notify_settings",
        "checklist_templates",
        "save_checklist_templates",
        "apply_checklist_template",
        "set_checklist_item",
        "save_rollback",
        "export_ics",
        "import_holidays",
        "sync_view",
        "connect_sync",
        "disconnect_sync",
        "sync_now",
        "sync_conflicts",
        "resolve_sync_conflict",
    ]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("tauri build failed: {e:#}");
        std::process::exit(1);
    }
}
