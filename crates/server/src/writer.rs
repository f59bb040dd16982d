//! The one connection that writes, on a thread of its own: requests hand
//! it their work through a queue and await the answer.
//!
//! Writes are one at a time anyway (SQLite has one writer; PostgreSQL's
//! batches take one lock). Doing them on one long-lived thread, rather than
//! on whichever blocking-pool thread took a mutex next, keeps the writer's
//! memory and caches on one core and spares each batch a handoff between
//! sleeping threads: with 20 writers on a 2-core machine, SQLite went from
//! about 5,000 to 6,000-9,000 mutations/s (BENCHMARKS.md).
//!
//! A request that panics while it writes fails alone: the panic is caught
//! here, what it left open (a batch's transaction, the batch lock) is
//! undone, and the next request goes on.

use crate::Failure;
use relcal_protocol::{ApiError, ErrorCode};
use relcal_server_core::ServerStore;

type Job = Box<dyn FnOnce(&mut dyn ServerStore) + Send>;

/// The writer's queue.
pub(crate) struct Writer {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `store`; it ends when the queue is dropped.
    pub(crate) fn start(store: Box<dyn ServerStore>) -> Result<Self, ApiError> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("relcal-writer".to_owned())
            .spawn(move || {
                let mut store = store;
                for job in queue {
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        job(store.as_mut())
                    }));
                    if ran.is_err() {
                        // Whatever it left open is undone: a batch's
                        // transaction (held on the connection, not by a
                        // guard) and the batch lock across processes.
                        store.rollback_batch();
                        if let Err(e) = store.unlock_writes() {
                            tracing::error!("after a failed request: {}", e.message);
                        }
                        tracing::error!("a request failed while it held the storage; going on");
                    }
                }
            })
            .map_err(|e| {
                ApiError::new(ErrorCode::Internal, format!("cannot start the writer: {e}"))
            })?;
        Ok(Self { jobs })
    }

    /// Runs `f` on the writer, after the work queued before it.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ServerStore) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, Failure> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |store| {
            // Nobody waits for it any more (the request timed out): dropped.
            let _ = answer.send(f(store));
        });
        let lost = || {
            Failure(ApiError::new(
                ErrorCode::Internal,
                "the request failed while it wrote",
            ))
        };
        self.jobs.send(job).map_err(|_| lost())?;
        answered.await.map_err(|_| lost())?
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test should panic loudly on a broken assumption"
    )]

    use super::*;

    #[test]
    fn a_request_that_panics_mid_batch_fails_alone_and_leaves_nothing_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = relcal_api::open_store(&dir.path().join("server.db")).unwrap();
        let writer = Writer::start(Box::new(store)).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let failed = writer
                .run(|s| -> Result<(), Failure> {
                    s.lock_writes()?;
                    assert!(s.begin_batch()?);
                    s.record_answer("half", "written")?;
                    panic!("a bug in a handler");
                })
                .await;
            match failed {
                Err(Failure(e)) => assert_eq!(e.code, ErrorCode::Internal, "{e:?}"),
                Ok(()) => panic!("a panic answered Ok"),
            }
            // The next request is served, and sees nothing of the first.
            let seen = writer.run(|s| Ok(s.answer("half")?)).await.unwrap();
            assert_eq!(seen, None);
            writer
                .run(|s| {
                    s.record_answer("whole", "written")?;
                    Ok(())
                })
                .await
                .unwrap();
        });
        // Its batch lock was let go: another process's connection takes it.
        let mut other = relcal_api::open_store(&dir.path().join("server.db")).unwrap();
        let (done, taken) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let locked = relcal_server_core::ServerStore::lock_writes(&mut other).is_ok();
            let answer = relcal_server_core::ServerStore::answer(&mut other, "whole");
            let _ = done.send((locked, answer.ok().flatten()));
        });
        assert_eq!(
            taken.recv_timeout(std::time::Duration::from_secs(10)),
            Ok((true, Some("written".to_owned())))
        );
    }
}
