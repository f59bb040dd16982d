//! The reader connections of one server process: the read endpoints (gate,
//! changes, plan, feed, whoami, audit heads) and every request's
//! authentication run on one of these, so a read never waits behind a
//! write. Writes keep their one connection (`Served::store`); SQLite in WAL
//! mode gives each reader a consistent snapshot while the writer writes, and
//! PostgreSQL each reader its own connection.

use crate::Failure;
use relcal_protocol::{ApiError, ErrorCode};
use relcal_server_core::ServerStore;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Opens one more connection to the server's storage.
pub(crate) type Opener =
    std::sync::Arc<dyn Fn() -> Result<Box<dyn ServerStore>, ApiError> + Send + Sync>;

struct Idle {
    connections: Vec<Box<dyn ServerStore>>,
    /// Connections open now, idle or lent.
    open: usize,
}

/// A pool of at most `max` reader connections, opened at start ([`Readers::fill`])
/// and again when needed.
pub(crate) struct Readers {
    open: Opener,
    max: usize,
    idle: Mutex<Idle>,
    freed: Condvar,
}

/// A connection lent out; back to the pool when dropped, unless its request
/// panicked or its database went away (then it is closed, and a new one is
/// opened when needed).
struct Lease<'a> {
    pool: &'a Readers,
    connection: Option<Box<dyn ServerStore>>,
    broken: bool,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut idle = self.pool.lock();
        match self.connection.take() {
            Some(c) if !self.broken && !std::thread::panicking() => idle.connections.push(c),
            _ => idle.open -= 1,
        }
        self.pool.freed.notify_one();
    }
}

impl Readers {
    pub(crate) fn new(open: Opener, max: usize) -> Self {
        Readers {
            open,
            max: max.max(1),
            idle: Mutex::new(Idle {
                connections: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// Opens connections until `max` are: done at start, so the first
    /// requests under load do not each wait for a connection to be opened
    /// (a PostgreSQL backend takes milliseconds to start). A connection
    /// that cannot be opened now is left to be opened when needed.
    pub(crate) fn fill(&self) {
        loop {
            {
                let mut idle = self.lock();
                if idle.open >= self.max {
                    return;
                }
                idle.open += 1;
            }
            match self.open_one() {
                Ok(c) => {
                    self.lock().connections.push(c);
                    self.freed.notify_one();
                }
                Err(e) => {
                    self.lock().open -= 1;
                    tracing::warn!("a reader connection could not be opened yet: {}", e.message);
                    return;
                }
            }
        }
    }

    /// One more connection; an opener that panics is an error like any
    /// other, so the count of those open stays right.
    fn open_one(&self) -> Result<Box<dyn ServerStore>, ApiError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.open)())).unwrap_or_else(
            |_| {
                Err(ApiError::new(
                    ErrorCode::Internal,
                    "opening a reader connection failed",
                ))
            },
        )
    }

    /// The pool's state; a panic elsewhere while it was held left it whole
    /// (every change to it is one statement), so it is used on.
    fn lock(&self) -> MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|poisoned| {
            self.idle.clear_poison();
            poisoned.into_inner()
        })
    }

    /// Runs `f` on a reader connection: an idle one, else a new one while
    /// fewer than `max` are open, else the next one freed. Blocking: call
    /// it off the async workers.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn ServerStore) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let mut lease = self.lease()?;
        let Some(connection) = lease.connection.as_mut() else {
            return Err(Failure(ApiError::new(
                ErrorCode::Internal,
                "a lent connection is missing",
            )));
        };
        let out = f(connection.as_mut());
        lease.broken = matches!(&out, Err(Failure(e)) if e.code == ErrorCode::Unavailable);
        out
    }

    fn lease(&self) -> Result<Lease<'_>, ApiError> {
        let mut idle = self.lock();
        loop {
            if let Some(c) = idle.connections.pop() {
                return Ok(Lease {
                    pool: self,
                    connection: Some(c),
                    broken: false,
                });
            }
            if idle.open < self.max {
                idle.open += 1;
                drop(idle);
                // Opened outside the lock: a slow database does not stop
                // the others from returning theirs.
                return match self.open_one() {
                    Ok(c) => Ok(Lease {
                        pool: self,
                        connection: Some(c),
                        broken: false,
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            idle = self.freed.wait(idle).unwrap_or_else(|poisoned| {
                self.idle.clear_poison();
                poisoned.into_inner()
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Runs `n` reads at once, each holding its connection until all hold
    /// one (or a few seconds have passed: a barrier would hang the test when
    /// one of them fails first).
    fn all_at_once(readers: &Readers, n: usize) {
        let arrived = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..n {
                s.spawn(|| {
                    readers
                        .with(|store| {
                            arrived.fetch_add(1, Ordering::SeqCst);
                            let deadline =
                                std::time::Instant::now() + std::time::Duration::from_secs(5);
                            while arrived.load(Ordering::SeqCst) < n
                                && std::time::Instant::now() < deadline
                            {
                                std::thread::sleep(std::time::Duration::from_millis(1));
                            }
                            Ok(store.calendar_version()?)
                        })
                        .unwrap()
                });
            }
        });
    }

    /// An opener of real SQLite connections that counts its calls; the
    /// call numbered `fails` (from 0) fails, and the one after panics.
    fn opener(dir: &std::path::Path, fails: usize) -> (Opener, Arc<AtomicUsize>) {
        let opened = Arc::new(AtomicUsize::new(0));
        let (path, count) = (dir.join("server.db"), opened.clone());
        let open: Opener = Arc::new(move || {
            let call = count.fetch_add(1, Ordering::SeqCst);
            if call == fails {
                return Err(ApiError::new(
                    ErrorCode::Unavailable,
                    "the database is away",
                ));
            }
            assert!(call.checked_sub(1) != Some(fails), "a bug in the opener");
            let store: Box<dyn ServerStore> = Box::new(relcal_api::open_store(&path)?);
            Ok(store)
        });
        (open, opened)
    }

    #[test]
    fn filling_opens_every_reader_up_front_and_requests_then_open_none() {
        let dir = tempfile::tempdir().unwrap();
        let (open, opened) = opener(dir.path(), usize::MAX);
        let readers = Readers::new(open, 3);
        readers.fill();
        assert_eq!(opened.load(Ordering::SeqCst), 3);
        // Three at once, each on a connection opened at start.
        all_at_once(&readers, 3);
        assert_eq!(opened.load(Ordering::SeqCst), 3);
        readers.fill();
        assert_eq!(
            opened.load(Ordering::SeqCst),
            3,
            "a full pool opens no more"
        );
    }

    #[test]
    fn a_connection_that_cannot_be_opened_at_start_is_opened_when_needed() {
        let dir = tempfile::tempdir().unwrap();
        let (open, opened) = opener(dir.path(), 1);
        let readers = Readers::new(open, 3);
        // The second open fails: filling stops there, and counts only one.
        readers.fill();
        assert_eq!(opened.load(Ordering::SeqCst), 2);
        assert_eq!(readers.lock().open, 1);
        // Two at once: the one opened at start, and one opened now. The
        // opener panics on that try (a bug): an error for that request, and
        // the count stays right, so the next try opens one.
        let (held, holding) = std::sync::mpsc::channel();
        let (freed, free) = std::sync::mpsc::channel::<()>();
        let pool = &readers;
        std::thread::scope(|s| {
            s.spawn(move || {
                pool.with(|store| {
                    held.send(()).unwrap();
                    free.recv().unwrap();
                    Ok(store.calendar_version()?)
                })
                .unwrap()
            });
            holding.recv().unwrap();
            let second = readers.with(|store| Ok(store.calendar_version()?));
            let open = readers.lock().open;
            // Let the first go before anything can fail here.
            freed.send(()).unwrap();
            assert!(second.is_err(), "{second:?}");
            assert_eq!(open, 1);
        });
        all_at_once(&readers, 2);
        assert_eq!(opened.load(Ordering::SeqCst), 4);
        assert_eq!(readers.lock().open, 2);
    }
}
