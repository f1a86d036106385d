//! Notes on stderr (a snapshot written, a suppression that expired, a flag
//! that does not apply) and progress, which `--quiet` silences. Errors are
//! never silenced: they go through `UserError` and `main`.

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// `rotation-doctor: MESSAGE` on stderr, unless `--quiet`.
pub fn note(message: impl std::fmt::Display) {
    if !quiet() {
        eprintln!("rotation-doctor: {message}");
    }
}

/// Whether to draw progress: on a terminal, unless `--quiet`.
pub fn show_progress() -> bool {
    use std::io::IsTerminal;
    !quiet() && std::io::stderr().is_terminal()
}
