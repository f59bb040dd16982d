//! The shell on Tauri's mock runtime: the app as `run` builds it (plugins,
//! state, every command in the invoke handler), over a real SQLite file,
//! answering the window's IPC calls. The real window is `tests/e2e`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test should fail loudly on a broken fixture"
)]

use serde_json::{json, Value};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;

struct Shell {
    _dir: tempfile::TempDir,
    _app: tauri::App<tauri::test::MockRuntime>,
    webview: tauri::WebviewWindow<tauri::test::MockRuntime>,
}

impl Shell {
    fn open() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = relcal_app::open_state(Some(dir.path().join("calendar.db")));
        let app = relcal_app::build_app(mock_builder(), state, false)
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        Self {
            _dir: dir,
            _app: app,
            webview,
        }
    }

    /// What the window gets for `cmd` with `args`: the value, or `{code, message}`.
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }
}

#[test]
fn the_shell_answers_reads_and_writes_over_ipc() {
    let shell = Shell::open();
    // A new database holds the demo calendar.
    let catalog = shell.invoke("catalog", json!({})).unwrap();
    let teams = catalog["teams"].as_array().unwrap();
    assert!(!teams.is_empty(), "{catalog}");

    // A write goes through and is read back.
    let change = shell
        .invoke(
            "save_team",
            json!({"input": {"id": "shell-test", "name": "Shell test", "timezone": "Europe/Berlin"}}),
        )
        .unwrap();
    assert_eq!(change["kind"], "team");
    assert_eq!(change["action"], "created");
    let settings = shell.invoke("settings", json!({})).unwrap();
    assert!(
        settings["teams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == "shell-test" && t["name"] == "Shell test"),
        "{settings}"
    );

    // Its undo is one call, with what the change returned.
    shell
        .invoke(
            "restore_object",
            json!({"kind": "team", "id": "shell-test", "previous": change["previous"], "position": change["position"]}),
        )
        .unwrap();
    let settings = shell.invoke("settings", json!({})).unwrap();
    assert!(!settings["teams"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == "shell-test"));
}

#[test]
fn bad_input_crosses_ipc_as_code_and_message() {
    let shell = Shell::open();
    let error = shell
        .invoke(
            "calendar_view",
            json!({"from": "yesterday", "to": "2027-01-01T00:00:00Z"}),
        )
        .unwrap_err();
    assert_eq!(error["code"], "validation", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("calendar_view") && message.contains("`from`"),
        "{message}"
    );
    let error = shell
        .invoke(
            "save_team",
            json!({"input": {"id": "x", "name": "X", "timezone": "Mars/Olympus"}}),
        )
        .unwrap_err();
    assert_eq!(error["code"], "validation", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("timezone"),
        "{error}"
    );
}
