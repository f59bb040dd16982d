//! What the server's tests share: the real server binary on loopback, tokens,
//! and a proxy that puts network faults between a client and the server.

#![allow(dead_code, reason = "each test file uses its own part")]

mod proxy;
#[allow(unused_imports, reason = "the fault tests' part")]
pub use proxy::{Fault, FaultProxy};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `relcal-server`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which database the server keeps its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file.
    Sqlite,
    /// PostgreSQL (a private cluster, started for the test).
    Postgres,
}

/// A private PostgreSQL cluster from the machine's PostgreSQL packages,
/// listening on a Unix socket in its own directory, stopped when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    as_root: bool,
    /// Connection string for `--database-url`.
    pub url: String,
}

/// `program` of PostgreSQL's, run as the `postgres` user when we are root
/// (the server refuses to run as root).
fn pg_command(as_root: bool, program: &std::path::Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// initdb + pg_ctl start (as the `postgres` user when run as root: the
    /// server refuses to run as root).
    pub fn start() -> Self {
        Self::start_with_tls(None)
    }

    /// [`Postgres::start`], also listening on loopback TCP with TLS on,
    /// serving `cert` and `key` (PEM files); `url` then names that port with
    /// `sslmode=require`.
    pub fn start_with_tls(tls: Option<(&std::path::Path, &std::path::Path)>) -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
            .expect("PostgreSQL's server is not installed (Debian: postgresql); scripts/setup.sh test installs it");
        let dir = tempfile::tempdir().unwrap();
        let as_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let run = |args: &[&str]| {
            let out = pg_command(as_root, std::path::Path::new(args[0]))
                .args(&args[1..])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        if as_root {
            let ok = Command::new("chown")
                .args(["postgres:postgres", dir.path().to_str().unwrap()])
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let data = dir.path().join("data");
        let (initdb, pg_ctl) = (bin.join("initdb"), bin.join("pg_ctl"));
        run(&[
            initdb.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "relcal",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        // Tests need no durability; the load bench can ask for it
        // (RELCAL_TEST_PG_DURABLE=1: commits reach the disk, as in production).
        let durability = if std::env::var_os("RELCAL_TEST_PG_DURABLE").is_some() {
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
        } else {
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        };
        let mut options = format!("-k {} {durability}", dir.path().display());
        let mut port = None;
        match tls {
            None => options.push_str(" -c listen_addresses="),
            Some((cert, key)) => {
                // The key must be the server's own, readable by it alone.
                for (from, to) in [(cert, "server.crt"), (key, "server.key")] {
                    std::fs::copy(from, data.join(to)).unwrap();
                }
                let key_file = data.join("server.key");
                let _ = Command::new("chmod").arg("600").arg(&key_file).status();
                if as_root {
                    let _ = Command::new("chown")
                        .args(["postgres:postgres"])
                        .arg(&key_file)
                        .arg(data.join("server.crt"))
                        .status();
                }
                let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let p = free.local_addr().unwrap().port();
                drop(free);
                port = Some(p);
                options.push_str(&format!(
                    " -c listen_addresses=127.0.0.1 -c port={p} -c ssl=on \
                     -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
                ));
            }
        }
        run(&[
            pg_ctl.to_str().unwrap(),
            "-D",
            data.to_str().unwrap(),
            "-l",
            dir.path().join("log").to_str().unwrap(),
            "-o",
            &options,
            "-w",
            "start",
        ]);
        let url = match port {
            None => format!(
                "host={} port=5432 user=relcal dbname=postgres",
                dir.path().display()
            ),
            Some(p) => {
                format!("host=127.0.0.1 port={p} user=relcal dbname=postgres sslmode=require")
            }
        };
        Self {
            dir,
            bin,
            as_root,
            url,
        }
    }
}

impl Postgres {
    /// Stops the cluster at once, as a crashed database host would.
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        let _ = pg_command(self.as_root, &self.bin.join("pg_ctl"))
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }

    /// Runs `sql` with psql as the cluster's superuser (a test playing an
    /// intruder with database access); its output.
    pub fn psql(&self, sql: &str) -> std::process::Output {
        pg_command(self.as_root, &self.bin.join("psql"))
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-d", &self.url, "-c", sql])
            .output()
            .unwrap()
    }

    /// Starts `sql` with psql as the cluster's superuser and leaves it
    /// running (a session that holds a lock, say).
    pub fn psql_running(&self, sql: &str) -> Child {
        pg_command(self.as_root, &self.bin.join("psql"))
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-d", &self.url, "-c", sql])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Where its socket and files are, which no client may be told.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server's database: a SQLite file or a PostgreSQL database.
pub struct ServerDb {
    /// `--db FILE` or `--database-url URL`.
    pub args: Vec<String>,
    /// Keeps the cluster running.
    pub postgres: Option<Postgres>,
    dir: std::path::PathBuf,
}

impl ServerDb {
    /// A new, empty server database in `dir`.
    pub fn new(backend: Backend, dir: &std::path::Path) -> Self {
        match backend {
            Backend::Sqlite => Self {
                args: vec![
                    "--db".into(),
                    dir.join("server.db").to_str().unwrap().to_owned(),
                ],
                postgres: None,
                dir: dir.to_owned(),
            },
            Backend::Postgres => {
                let pg = Postgres::start();
                Self {
                    args: vec!["--database-url".into(), pg.url.clone()],
                    postgres: Some(pg),
                    dir: dir.to_owned(),
                }
            }
        }
    }

    /// The storage itself, in this process (for tests that drive the
    /// server's core directly, beside the binary).
    pub fn open_store(&self) -> Box<dyn relcal_server_core::ServerStore> {
        match self.args[0].as_str() {
            "--db" => {
                Box::new(relcal_api::open_store(std::path::Path::new(&self.args[1])).unwrap())
            }
            _ => Box::new(relcal_store_pg::PgStore::connect(&self.args[1]).unwrap()),
        }
    }

    /// Loads a calendar with `relcal-server import`.
    pub fn import(&self, plan: &str) {
        let file = self.dir.join("server-plan.json");
        std::fs::write(&file, plan).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_relcal-server"))
            .args(&self.args)
            .arg("import")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The servers' batch lock on `db`, held by the test as another server
/// process would hold it while it applies a batch; released when dropped.
pub enum HeldBatchLock<'a> {
    /// The OS lock on the file beside the SQLite database.
    File(std::fs::File),
    /// A psql session holding PostgreSQL's advisory lock.
    Session(Child, &'a Postgres),
}

impl<'a> HeldBatchLock<'a> {
    pub fn take(db: &'a ServerDb) -> Self {
        match &db.postgres {
            None => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(db.dir.join("server.db.batch-lock"))
                    .unwrap();
                file.lock().unwrap();
                HeldBatchLock::File(file)
            }
            Some(pg) => {
                // The lock relcal-store-pg takes ("relcal"), then a long wait.
                // Held from here: dropped (psql ended) on every path.
                let held = HeldBatchLock::Session(
                    pg.psql_running(
                        "SELECT pg_advisory_lock(125779935715692); SELECT pg_sleep(600)",
                    ),
                    pg,
                );
                for _ in 0..200 {
                    let out = pg.psql(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted",
                    );
                    if String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .any(|l| l.trim() == "1")
                    {
                        return held;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                panic!("psql did not take the advisory lock");
            }
        }
    }
}

impl Drop for HeldBatchLock<'_> {
    fn drop(&mut self) {
        if let HeldBatchLock::Session(child, pg) = self {
            // The session sleeps: it would keep the lock after psql went.
            pg.psql(
                "SELECT pg_terminate_backend(pid) FROM pg_locks \
                 WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()",
            );
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Creates a token with `relcal-server token create`.
pub fn token(db: &ServerDb, user: &str, role: &str) -> std::process::Output {
    server_cmd(
        db,
        &["token", "create", "--user", user, "--role", role],
        None,
    )
}

/// Runs `relcal-server ARGS` on `db` (its clock at `now`, if given).
pub fn server_cmd(db: &ServerDb, args: &[&str], now: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relcal-server"));
    cmd.args(&db.args).args(args);
    if let Some(now) = now {
        cmd.env("RELCAL_NOW", now);
    }
    cmd.output().unwrap()
}

/// Starts the server on a free loopback port.
pub fn start(db: &ServerDb) -> Server {
    start_at(db, None)
}

/// [`start`], with the server's clock at `now` (`RELCAL_NOW`), if given.
pub fn start_at(db: &ServerDb, now: Option<&str>) -> Server {
    start_with(db, now, &[])
}

/// [`start_at`], with more arguments (`--header-timeout 1`, ...).
pub fn start_with(db: &ServerDb, now: Option<&str>, args: &[&str]) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relcal-server"));
    if let Some(now) = now {
        command.env("RELCAL_NOW", now);
    }
    let mut child = command
        .args(&db.args)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RELCAL_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("relcal-server did not start: {line:?}"))
        .to_owned();
    Server { child, base }
}

/// Runs a scenario `fn name(backend: Backend)` once per backend, as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::common::Backend::Postgres)
                }
            }
        )*
    };
}

/// A new token for `user` with `role` (`relcal-server token create`), as text.
pub fn new_token(db: &ServerDb, user: &str, role: &str) -> String {
    let out = token(db, user, role);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A server database holding the demo calendar, and a viewer token for it.
pub fn setup(backend: Backend) -> (tempfile::TempDir, ServerDb, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = ServerDb::new(backend, dir.path());
    db.import(relcal_api::DEMO_PLAN);
    let out = token(&db, "ana", "viewer");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let viewer = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(viewer.starts_with("rc_") && viewer.len() == 67, "{viewer}");
    (dir, db, viewer)
}
