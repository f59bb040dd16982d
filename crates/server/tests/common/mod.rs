//! What the server's tests share: the real server binary on loopback, tokens,
//! and a proxy that puts network faults between a client and the server.

#![allow(dead_code, reason = "each test file uses its own part")]

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
        let mut options = format!(
            "-k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            dir.path().display()
        );
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

/// What the proxy does to one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forwards it and its answer.
    Pass,
    /// Closes the connection before the server sees the request.
    DropBefore,
    /// Lets the server answer, then closes the connection without passing it on.
    DropAfter,
    /// Lets the server answer, and passes it on only after this long.
    Delay(std::time::Duration),
    /// Answers itself with this status (and `Retry-After` seconds), never forwarding.
    Status(u16, Option<u64>),
    /// Lets the server answer, then passes on only the first half of the bytes.
    Truncate,
    /// Lets the server answer, then answers `200` with a body that is not JSON.
    Garbage,
    /// Forwards the request and kills the server half as long after as the
    /// previous request took the server to answer (so, for two alike
    /// batches, in the middle of the second); the connection is closed
    /// unanswered once the server is dead.
    KillServerMidway,
}

/// A loopback HTTP proxy with a queue of faults, one per request (then `Pass`).
pub struct FaultProxy {
    /// The proxy's base URL: what the client talks to.
    pub base: String,
    faults: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Fault>>>,
    upstream: std::sync::Arc<std::sync::Mutex<String>>,
    /// Each request's first line and the fault it met.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    last: std::sync::Arc<std::sync::Mutex<std::time::Duration>>,
}

type Killer = std::sync::Arc<dyn Fn() + Send + Sync>;

impl FaultProxy {
    /// A proxy in front of `upstream` (`http://127.0.0.1:port`); `kill` kills the server.
    pub fn start(upstream: &str, kill: Killer) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let proxy = Self {
            base,
            faults: Default::default(),
            upstream: std::sync::Arc::new(std::sync::Mutex::new(upstream.to_owned())),
            log: Default::default(),
            last: Default::default(),
        };
        let (faults, up, log, last) = (
            proxy.faults.clone(),
            proxy.upstream.clone(),
            proxy.log.clone(),
            proxy.last.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (faults, up, log, kill, last) = (
                    faults.clone(),
                    up.clone(),
                    log.clone(),
                    kill.clone(),
                    last.clone(),
                );
                std::thread::spawn(move || serve(conn, &faults, &up, &log, &kill, &last));
            }
        });
        proxy
    }

    /// Queues faults for the next requests.
    pub fn then(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults.lock().unwrap().extend(faults);
    }

    /// Faults not yet met.
    pub fn left(&self) -> usize {
        self.faults.lock().unwrap().len()
    }

    /// Points the proxy at a (restarted) server.
    pub fn set_upstream(&self, upstream: &str) {
        *self.upstream.lock().unwrap() = upstream.to_owned();
    }
}

/// Reads one HTTP/1.1 request: head and body (by Content-Length).
fn read_request(conn: &mut std::net::TcpStream) -> Option<(String, Vec<u8>)> {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).ok()?;
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Sends the request upstream (one request per connection) and reads the whole answer.
fn forward(upstream: &str, head: &str, body: &[u8]) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let addr = upstream.strip_prefix("http://")?;
    let mut up = std::net::TcpStream::connect(addr).ok()?;
    let mut lines: Vec<&str> = head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    up.write_all(format!("{}\r\n\r\n", lines.join("\r\n")).as_bytes())
        .ok()?;
    up.write_all(body).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    (!answer.is_empty()).then_some(answer)
}

fn serve(
    mut conn: std::net::TcpStream,
    faults: &std::sync::Mutex<std::collections::VecDeque<Fault>>,
    upstream: &std::sync::Mutex<String>,
    log: &std::sync::Mutex<Vec<String>>,
    kill: &Killer,
    last: &std::sync::Mutex<std::time::Duration>,
) {
    use std::io::Write;
    let Some((head, body)) = read_request(&mut conn) else {
        return;
    };
    let fault = faults.lock().unwrap().pop_front().unwrap_or(Fault::Pass);
    let first = head.lines().next().unwrap_or_default().to_owned();
    log.lock().unwrap().push(format!("{first} -> {fault:?}"));
    let up = upstream.lock().unwrap().clone();
    let forward = |up: &str, head: &str, body: &[u8]| {
        let t0 = std::time::Instant::now();
        let answer = forward(up, head, body);
        *last.lock().unwrap() = t0.elapsed();
        answer
    };
    let reply = |conn: &mut std::net::TcpStream, bytes: &[u8]| {
        let _ = conn.write_all(bytes);
        let _ = conn.flush();
    };
    match fault {
        Fault::Pass => {
            if let Some(a) = forward(&up, &head, &body) {
                reply(&mut conn, &a);
            }
        }
        Fault::DropBefore => {}
        Fault::DropAfter => {
            forward(&up, &head, &body);
        }
        Fault::Delay(d) => {
            let a = forward(&up, &head, &body);
            std::thread::sleep(d);
            if let Some(a) = a {
                reply(&mut conn, &a);
            }
        }
        Fault::Status(code, after) => {
            let extra = after.map_or(String::new(), |s| format!("Retry-After: {s}\r\n"));
            let body = format!("{{\"code\":\"unavailable\",\"message\":\"injected {code}\"}}");
            reply(
                &mut conn,
                format!(
                    "HTTP/1.1 {code} Injected\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
        Fault::Truncate => {
            if let Some(a) = forward(&up, &head, &body) {
                reply(&mut conn, &a[..a.len() / 2]);
            }
        }
        Fault::Garbage => {
            forward(&up, &head, &body);
            let body = "{\"results\": [tru";
            reply(
                &mut conn,
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
        Fault::KillServerMidway => {
            let after = *last.lock().unwrap() / 2;
            let kill = kill.clone();
            let killer = std::thread::spawn(move || {
                std::thread::sleep(after);
                kill();
            });
            forward(&up, &head, &body);
            let _ = killer.join();
        }
    }
}
