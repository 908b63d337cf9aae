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

/// Ends a test whose environment is missing. Outside the harness (a developer's plain
/// `cargo test`) it prints why and the test passes having decided nothing; where
/// `cargo xtask test` declares that it provides `env` (`TENUTO_HARNESS`, a comma-separated
/// list of `wine`, `pulse`, `xvfb`), a missing environment is a broken run, so it panics.
#[allow(dead_code)] // used by the WASAPI tests only
pub fn missing_environment(env: &str, why: &str) {
    let declared = std::env::var("TENUTO_HARNESS").unwrap_or_default();
    if declared.split(',').any(|e| e.trim() == env) {
        panic!(
            "{why}\nthe harness provides {env} (TENUTO_HARNESS={declared}): this test must run, \
             not skip"
        );
    }
    eprintln!("skipped: {why} (`cargo xtask test` provides {env})");
}

/// A settings file (for `TENUTO_CONFIG`) choosing WASAPI in shared mode with the given
/// output and input (IDs, names, "default" or "off").
#[allow(dead_code)] // used by the WASAPI tests only
pub fn wasapi_settings(name: &str, output: &str, input: &str) -> PathBuf {
    wasapi_settings_with(name, output, input, "")
}

/// As [`wasapi_settings`], with `extra` lines added to `[wasapi]`.
#[allow(dead_code)]
pub fn wasapi_settings_with(name: &str, output: &str, input: &str, extra: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tenuto-wasapi-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tenuto.toml");
    std::fs::write(
        &path,
        format!(
            "[driver]\nbackend = \"wasapi\"\n\n[wasapi]\noutput = \"{output}\"\n\
             input = \"{input}\"\nmode = \"shared\"\n{extra}"
        ),
    )
    .unwrap();
    path
}
