//! Standard output that a closed pipe (`relcal check | head`) ends quietly:
//! what is left to print is dropped, and the exit code stays the command's
//! answer. `print!` and `println!` in main.rs are these, not std's, which panic.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

pub fn write(args: std::fmt::Arguments<'_>, newline: bool) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| {
        if newline {
            stdout.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if written.is_err() {
        // A reader that went away (EPIPE) or a full disk: nothing more can be shown.
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Writes a long output through one buffer, ending quietly like `write`.
pub fn buffered(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if f(&mut stdout).and_then(|()| stdout.flush()).is_err() {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Flushes what is buffered, ignoring a reader that went away.
pub fn flush() {
    if !CLOSED.load(Ordering::Relaxed) && std::io::stdout().lock().flush().is_err() {
        CLOSED.store(true, Ordering::Relaxed);
    }
}
