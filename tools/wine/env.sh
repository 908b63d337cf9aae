#!/usr/bin/env bash
# Tenuto test harness: runs a command in the project's private Wine prefix.
#
#   tools/wine/env.sh wine PROGRAM.exe [ARGS]   run a Windows program in the prefix
#   tools/wine/env.sh wine regsvr32 X.dll       (any Wine builtin program works too)
#   tools/wine/env.sh wineserver -k             any command, with the prefix's environment
#   eval "$(tools/wine/env.sh)"                 export that environment into your shell
#
# The prefix is <repo>/target/wine-prefix (TENUTO_WINEPREFIX overrides it). On first use this
# script creates it (wineboot, ~15 s) and installs the ProcessPrng shim (bcryptprimitives.c
# here, compiled with x86_64-w64-mingw32-gcc) into its system32: without the shim no Rust
# executable starts under Wine 8.0. Provisioning holds a lock, because cargo runs test binaries
# and doctests through runner.sh in parallel. The shim is rebuilt when its source changes.
set -euo pipefail

here=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$(dirname -- "$here")")

export WINEPREFIX="${TENUTO_WINEPREFIX:-$root/target/wine-prefix}"
# -all: no debug channels, and no "wine32 is missing" hint on every start.
export WINEDEBUG="${WINEDEBUG:--all}"
# mscoree,mshtml= : never offer to install Mono/Gecko; winemenubuilder.exe=d : do not write
# menu entries and MIME types into the user's ~/.config and ~/.local.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=;winemenubuilder.exe=d}"
# Wine keeps state under $HOME (and refuses to start without one): give it a private one when
# there is none or it is not writable (CI, containers).
if [ -z "${HOME:-}" ] || [ ! -d "$HOME" ] || [ ! -w "$HOME" ]; then
    export HOME="$root/target/wine-home"
    mkdir -p "$HOME"
fi

shim_src="$here/bcryptprimitives.c"
shim_def="$here/bcryptprimitives.def"
shim_build="$root/target/wine-shim/bcryptprimitives.dll"
shim_installed="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"

die() {
    echo "tools/wine/env.sh: $*" >&2
    exit 1
}

needs_setup() {
    [ ! -f "$WINEPREFIX/system.reg" ] || [ ! -f "$shim_installed" ] ||
        [ "$shim_src" -nt "$shim_installed" ] || [ "$shim_def" -nt "$shim_installed" ]
}

setup() {
    command -v wine >/dev/null 2>&1 ||
        die "wine is not installed (cargo xtask test installs it; or: apt-get install --no-install-recommends wine wine64)"
    command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 ||
        die "x86_64-w64-mingw32-gcc is not installed (apt-get install --no-install-recommends gcc-mingw-w64-x86-64)"
    mkdir -p "$(dirname -- "$WINEPREFIX")" "$(dirname -- "$shim_build")"
    exec 9>"$WINEPREFIX.lock"
    flock 9
    if needs_setup; then
        if [ ! -f "$WINEPREFIX/system.reg" ]; then
            local log="$WINEPREFIX.wineboot.log"
            echo "tools/wine/env.sh: creating the Wine prefix $WINEPREFIX (once, ~15 s)" >&2
            # fd 9 (the lock) must not leak into wineserver, which outlives this script.
            wineboot -i >"$log" 2>&1 9>&- || die "wineboot failed; see $log"
            # Wait until the new prefix is written out and the wineserver is gone.
            wineserver -w 9>&-
            [ -f "$WINEPREFIX/system.reg" ] || die "wineboot did not create the prefix; see $log"
        fi
        x86_64-w64-mingw32-gcc -shared -O2 -s -Wall -Wextra -Werror -nostdlib \
            -Wl,--entry,DllEntry -o "$shim_build" "$shim_src" "$shim_def" \
            -lkernel32 -ladvapi32 || die "building the ProcessPrng shim failed"
        cp "$shim_build" "$shim_installed.tmp"
        mv -f "$shim_installed.tmp" "$shim_installed"
    fi
    flock -u 9
    exec 9>&-
}

if needs_setup; then
    setup
fi

if [ $# -eq 0 ]; then
    for v in WINEPREFIX WINEDEBUG WINEDLLOVERRIDES HOME; do
        printf 'export %s=%q\n' "$v" "${!v}"
    done
    exit 0
fi
exec "$@"
