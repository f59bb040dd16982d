//! A loopback HTTP proxy that puts network faults between a desktop and
//! the server (`tests/faults.rs`).

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
