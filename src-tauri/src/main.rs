// Keep the console closed for release builds on Windows.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// Loading and checking a calendar is mostly small allocations; mimalloc makes them cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    relcal_app::run();
}
