//! `tenuto config` through the built binary, with `TENUTO_CONFIG` pointing to a
//! file in a fresh temporary folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tenuto-cli-config-{}-{name}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tenuto(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenuto"))
        .arg("config")
        .args(args)
        .env("TENUTO_CONFIG", config)
        .output()
        .expect("run tenuto")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn set_then_show_then_check() {
    let dir = temp_dir("set");
    let file = dir.join("sub").join("tenuto.toml");

    let out = tenuto(&file, &["path"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("tenuto.toml"), "{stdout}");
    assert!(stdout.contains("does not exist"), "{stdout}");

    let out = tenuto(&file, &["set", "scheduling.mode", "manual"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("scheduling.mode = \"manual\""));
    let out = tenuto(&file, &["set", "profiles.Reaper.exe", "auto"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tenuto(&file, &["set", "driver.buffer_size", "64"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = tenuto(&file, &["path"]);
    assert!(text(&out.stdout).contains("exists"));

    let out = tenuto(&file, &["show"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("mode = \"manual\""), "{stdout}");
    assert!(stdout.contains("\n\"reaper.exe\" = \"auto\""), "{stdout}");
    assert!(stdout.contains("buffer_size = 64"), "{stdout}");
    assert_eq!(text(&out.stderr), "");

    let out = tenuto(&file, &["check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("manual, TIME_CRITICAL in a normal process: base priority 15"));
    assert!(stdout.contains("64 frames preferred"), "{stdout}");
    assert!(stdout.contains("0 errors, 0 warnings"), "{stdout}");

    // A bad value is refused with the reason, and the file is unchanged.
    let before = std::fs::read(&file).unwrap();
    let out = tenuto(&file, &["set", "scheduling.mmcss_priority", "max"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "scheduling.mmcss_priority = \"max\" is not allowed; use low, normal, high or critical"
        ),
        "{stderr}"
    );
    let out = tenuto(&file, &["set", "scheduling.mod", "inherit"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("did you mean `scheduling.mode`?"));
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // Removing the profile.
    let out = tenuto(&file, &["set", "profiles.reaper.exe", "none"]);
    assert!(out.status.success());
    assert!(!text(&tenuto(&file, &["show"]).stdout).contains("\n\"reaper.exe\" = "));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_exit_codes() {
    let dir = temp_dir("check");
    let file = dir.join("tenuto.toml");

    // No file: the defaults, fine.
    let out = tenuto(&file, &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("does not exist"));

    // Warnings only: still 0.
    std::fs::write(&file, "[scheduling]\nmod = \"manual\"\n").unwrap();
    let out = tenuto(&file, &["check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("did you mean `scheduling.mode`?"),
        "{stdout}"
    );
    assert!(stdout.contains("0 errors, 1 warning"), "{stdout}");

    // An error: 1, and the message says what is allowed.
    std::fs::write(&file, "[driver]\nbuffer_size = 100\n").unwrap();
    let out = tenuto(&file, &["check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("tenuto.toml line 2: driver.buffer_size = 100 is not allowed"),
        "{stdout}"
    );
    assert!(stdout.contains("128 frames preferred"), "{stdout}");

    // --file overrides TENUTO_CONFIG; a broken file is an error, and `set` refuses
    // to overwrite it.
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[driver").unwrap();
    let broken_arg = broken.to_str().unwrap();
    let out = tenuto(&file, &["check", "--file", broken_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("not valid TOML"));
    let out = tenuto(
        &file,
        &["set", "--file", broken_arg, "scheduling.mode", "auto"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), "[driver");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_states_the_buffer_size_rule_of_each_wasapi_mode() {
    let dir = temp_dir("buffer-rule");
    let file = dir.join("tenuto.toml");
    for (mode, expected) in [
        (
            "shared",
            "in shared mode hosts may pick any size from 16 to 8192 frames",
        ),
        (
            "low-latency",
            "in low-latency mode hosts may pick any size from 16 to 8192 frames",
        ),
        ("exclusive", "a setting below that minimum is raised to it"),
    ] {
        std::fs::write(
            &file,
            format!(
                "[driver]\nbackend = \"wasapi\"\nbuffer_size = 32\n\n[wasapi]\nmode = \"{mode}\"\n"
            ),
        )
        .unwrap();
        let out = tenuto(&file, &["check"]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains("32 frames preferred"), "{stdout}");
        assert!(stdout.contains(expected), "{mode}: {stdout}");
    }
}

#[test]
fn set_takes_a_list_of_endpoints_and_check_prints_it() {
    let dir = temp_dir("endpoints");
    let file = dir.join("tenuto.toml");
    let out = tenuto(
        &file,
        &[
            "set",
            "wasapi.output",
            "Speakers (Realtek)",
            "USB Audio [3-4]",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("wasapi.output = [\"Speakers (Realtek)\", \"USB Audio [3-4]\"]"),
        "{}",
        text(&out.stdout)
    );
    let out = tenuto(&file, &["set", "wasapi.clock", "USB Audio"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // What the driver would do is told for the WASAPI backend (the default on Windows).
    let out = tenuto(&file, &["set", "driver.backend", "wasapi"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&tenuto(&file, &["show"]).stdout);
    assert!(
        shown.contains("\noutput = [\"Speakers (Realtek)\", \"USB Audio [3-4]\"]\n"),
        "{shown}"
    );
    assert!(shown.contains("\nclock = \"USB Audio\"\n"), "{shown}");
    let out = tenuto(&file, &["check", "--file", file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "output: 2 endpoints, in this channel order: 1. \"Speakers (Realtek)\", 2. \"USB \
             Audio\" channels 3-4; input: Windows' default device; clock: \"USB Audio\" \
             channels 3-4;"
        ),
        "{stdout}"
    );

    // Refused, the file unchanged: an endpoint twice, a bad selection, a list that
    // leaves the clock's endpoint out, several values for another key.
    let before = std::fs::read(&file).unwrap();
    for (args, says) in [
        (
            &["set", "wasapi.output", "USB Audio", "usb audio [1]"][..],
            "lists the endpoint \"usb audio\" twice",
        ),
        (
            &["set", "wasapi.input", "Mic [0]"][..],
            "has the channel selection [0], which names channel 0",
        ),
        (
            &["set", "wasapi.output", "Speakers (Realtek)"][..],
            "is not allowed while wasapi.clock = \"USB Audio\"",
        ),
        (
            &["set", "wasapi.mode", "shared", "exclusive"][..],
            "wasapi.mode takes one value, not 2",
        ),
    ] {
        let out = tenuto(&file, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "{args:?}");
    }

    // One value, as before: a plain string.
    let out = tenuto(&file, &["set", "wasapi.clock", "auto"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tenuto(&file, &["set", "wasapi.output", "Speakers (Realtek)"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&tenuto(&file, &["show"]).stdout);
    assert!(
        shown.contains("\noutput = \"Speakers (Realtek)\"\n"),
        "{shown}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Several endpoints as one device: `config check` opens them as the driver would (under
/// Wine, the harness's null sink, its monitor and the null source) and lists every member in
/// channel order with the clock, the rates hosts may use, and `getLatencies`; with
/// `wasapi.convert_rate = false` the members' own mix rate alone.
#[cfg(windows)]
#[test]
fn check_opens_an_aggregate_as_the_driver_would() {
    let harness = std::env::var("TENUTO_HARNESS").unwrap_or_default();
    let dir = temp_dir("aggregate");
    let path = dir.join("tenuto.toml");
    let settings = |convert: bool| {
        format!(
            "[driver]\nbackend = \"wasapi\"\n\n[wasapi]\noutput = [\"Tenuto Null Output\"]\n\
             input = [\"Monitor of Tenuto Null Output\", \"Tenuto Null Input\"]\n\
             mode = \"shared\"\nconvert_rate = {convert}\n"
        )
    };
    std::fs::write(&path, settings(true)).unwrap();
    let out = tenuto(&path, &["check"]);
    let s = text(&out.stdout);
    if !s.contains("3 endpoints as one device") {
        // Where the harness provides PulseAudio the null sink must be there: fail, not skip.
        assert!(
            !harness.split(',').any(|e| e.trim() == "pulse"),
            "the harness provides PulseAudio (TENUTO_HARNESS={harness}), yet config check did \
             not open the null sink, its monitor and the null source as one device:\n{s}"
        );
        eprintln!("skipped: no null sink here (`cargo xtask test` provides PulseAudio):\n{s}");
        return;
    }
    for want in [
        "on this machine: 3 endpoints as one device, in channel order:",
        "Out 1\u{2013}2: Tenuto Null Output, follows the clock through a resampler",
        "In 1\u{2013}2: Monitor of Tenuto Null Output, the clock",
        "In 3\u{2013}4: Tenuto Null Input, follows the clock through a resampler",
        "hosts may run at 44.1, 48, 88.2, 96, 176.4, 192 kHz (the clock mixes at 48000 Hz)",
        "getLatencies at 48000 Hz",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
    std::fs::write(&path, settings(false)).unwrap();
    let s = text(&tenuto(&path, &["check"]).stdout);
    assert!(
        s.contains("hosts may run at 48 kHz (the clock mixes at 48000 Hz)"),
        "{s}"
    );
}
