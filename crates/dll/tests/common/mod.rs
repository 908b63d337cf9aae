//! Shared by the DLL's integration tests.

use std::path::PathBuf;

/// The DLL cargo built for these tests: `cargo test` puts the cdylib next
/// to the test binary (deps/); a plain `cargo build` one level up.
pub fn built_dll() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("deps dir");
    let candidates = [deps.join("tenuto.dll"), deps.join("..").join("tenuto.dll")];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| panic!("tenuto.dll not built next to {}", deps.display()))
}
