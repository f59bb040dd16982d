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
    /// The app as built, without its background work (the mock runtime
    /// never runs the setup hook that starts it); `warm`: with the warm
    /// calendar, as the app starts it.
    fn open() -> Self {
        Self::with(false)
    }

    fn with(warm: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = relcal_app::open_state(Some(dir.path().join("calendar.db")));
        let app = relcal_app::build_app(mock_builder(), state, false)
            .build(mock_context(noop_assets()))
            .unwrap();
        if warm {
            relcal_app::open_warm_calendar(app.handle());
        }
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
        .invoke("undo_change", json!({"undo": change["undo"]}))
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

/// The conflicts the window gets, once the warm calendar is open (polling
/// while it says it is opening).
fn opened_conflicts(shell: &Shell) -> Value {
    for _ in 0..500 {
        let view = shell.invoke("conflicts", json!({})).unwrap();
        if view["opening"].is_null() {
            return view;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the warm calendar did not open within 10 s");
}

#[test]
fn a_change_to_a_freeze_opens_the_warm_calendar_again_with_its_progress() {
    let shell = Shell::with(true);
    let before = opened_conflicts(&shell);
    let blocked = |view: &Value| {
        view["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["conflict"]["freeze"] == "everything")
            .count()
    };
    assert_eq!(blocked(&before), 0, "{before}");
    // A freeze is not a release: the warm calendar cannot patch it in, so
    // the next look says it is being opened again (with its step), rather
    // than checking the whole calendar while the window waits.
    shell
        .invoke(
            "save_freeze",
            json!({"input": {
                "id": "everything", "name": "Everything", "severity": "hard", "timezone": null,
                "start": "2000-01-01T00:00:00Z", "end": "2090-01-01T00:00:00Z",
                "duration": null, "rrule": null, "exdates": [],
                "teams": [], "services": [], "environments": [], "reason": null
            }}),
        )
        .unwrap();
    let during = shell.invoke("conflicts", json!({})).unwrap();
    assert!(during["opening"]["steps"].as_u64().is_some(), "{during}");
    let after = opened_conflicts(&shell);
    assert!(blocked(&after) > 0, "{after}");
}
