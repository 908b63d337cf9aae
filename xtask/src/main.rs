//! Project automation, run as `cargo xtask <command>`:
//!
//! * `demo`  — the main job: build `tenuto.dll` and `tenuto.exe` for Windows,
//!   register the DLL in the project's Wine prefix and stream through it with
//!   a live progress line and a summary (`demo --in-process` streams through
//!   the driver inside a native Linux `tenuto` instead);
//! * `test`  — everything CI runs: formatting, clippy on Linux and the
//!   Windows target, all Linux tests, then the Windows side under Wine: all
//!   Windows-target tests, DLL registration, `tenuto check` and the C++ host
//!   against the registered DLL, the same for the 32-bit DLL, and the
//!   installer's install/upgrade/uninstall round trip in a prefix of its own;
//! * `bench` — the benchmarks whose figures are in docs/BENCHMARKS.md;
//! * `dist`  — the Windows installer and the portable zip (see `dist.rs`);
//! * `wine`  — run any Windows program in the project's Wine prefix.
//!
//! Each installs what it needs and is missing (Debian packages, rustup
//! components and targets), so the README's commands work on a fresh machine.
//! The Wine environment itself (private prefix under `target/`, the ProcessPrng
//! shim) is set up by `tools/wine/env.sh`, which is also the cargo runner's
//! back end (`tools/wine/runner.sh`).
//!
//! This file holds the dispatch. The modules, each using only those before
//! it: `project` (paths, targets, plain command helpers), `bootstrap`
//! (installing what is missing), `wine` (the prefix, and `cargo xtask wine`),
//! `pulse` (the private PulseAudio), `steps` (the step runner),
//! `shared_steps` (steps `test`, `demo` and `dist` share); then the commands
//! and step lists: `loopback` (the latency sweep under Wine), `gui` (the
//! control panel's test under Xvfb), `dist`, `demo`, `bench`, and `test`,
//! which runs the others' steps.

mod bench;
mod bootstrap;
mod demo;
mod dist;
mod gui;
mod loopback;
mod project;
mod pulse;
mod shared_steps;
mod steps;
mod test;
mod wine;

use std::process::ExitCode;

use project::WINDOWS_TARGET;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "demo" => demo::demo(rest),
        "test" => test::test(rest),
        "bench" => bench::bench(rest),
        "dist" => dist::dist_command(rest),
        "wine" => return wine::wine(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <demo|test|bench|wine>\n\
                 \n  demo [SECONDS]        build and register tenuto.dll in the Wine prefix, then stream through it\
                 \n                        (64 frames, 48 kHz, virtual device; default 10 s)\
                 \n  demo --in-process [SECONDS]\
                 \n                        the same through the driver inside a native tenuto (no Wine)\
                 \n  test [--wine-only]    fmt + clippy (Linux and {WINDOWS_TARGET}) + all tests, then under Wine:\
                 \n                        Windows tests, regsvr32, tenuto check, the C++ host; as CI runs them\
                 \n                        (--wine-only: just the steps under Wine)\
                 \n  bench [--quick]       conversion and per-period engine benchmarks\
                 \n  dist                  build both architectures (release) and write the installer\
                 \n                        target/dist/tenuto-setup-VERSION.exe (NSIS) and the portable zip\
                 \n                        (--test: then install, upgrade, uninstall it under Wine in its own prefix)\
                 \n  wine -- PROGRAM [ARGS]\
                 \n                        run a Windows program in the project's Wine prefix (target/wine-prefix)"
            );
            return if cmd == "help" || cmd == "--help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {cmd}: {e}");
            ExitCode::FAILURE
        }
    }
}
