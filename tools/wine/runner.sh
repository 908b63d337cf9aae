#!/usr/bin/env bash
# Tenuto test harness: the cargo runner for x86_64-pc-windows-gnu (see .cargo/config.toml).
# cargo calls it as `runner.sh /abs/path/to/foo-HASH.exe [ARGS]` for every test binary,
# doctest and `cargo run`; it runs that program under Wine in the project's private prefix,
# <repo>/target/wine-prefix, which env.sh sets up on first use (prefix + ProcessPrng shim, under
# a lock) along with WINEPREFIX, WINEDEBUG=-all and WINEDLLOVERRIDES.
exec "$(dirname -- "${BASH_SOURCE[0]}")/env.sh" wine "$@"
