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
# here, compiled with x86_64-w64-mingw32-gcc) into its system32, and its 32-bit build
# (i686-w64-mingw32-gcc, when installed) into syswow64 for 32-bit programs under WoW64
# (Debian's wine32:i386): without the shim no Rust executable starts under Wine 8.0. Provisioning holds a lock, because cargo runs test binaries
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
shim32_build="$root/target/wine-shim/i686/bcryptprimitives.dll"
shim32_installed="$WINEPREFIX/drive_c/windows/syswow64/bcryptprimitives.dll"

die() {
    echo "tools/wine/env.sh: $*" >&2
    exit 1
}

# The 32-bit shim is wanted when 32-bit Windows programs can run: wine32 and i686 mingw are
# installed (every 64-bit prefix has a syswow64 folder).
wants_shim32() {
    command -v i686-w64-mingw32-gcc >/dev/null 2>&1 && [ -e /usr/lib/wine/wineserver32 ]
}

needs_setup() {
    [ ! -f "$WINEPREFIX/system.reg" ] || [ ! -f "$shim_installed" ] ||
        [ "$shim_src" -nt "$shim_installed" ] || [ "$shim_def" -nt "$shim_installed" ] ||
        { wants_shim32 && { [ ! -f "$shim32_installed" ] ||
            [ "$shim_src" -nt "$shim32_installed" ] || [ "$shim_def" -nt "$shim32_installed" ]; }; }
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
        if wants_shim32; then
            # stdcall: the entry point is decorated; the export is not (--kill-at), as Rust's
            # std imports it undecorated.
            mkdir -p "$(dirname -- "$shim32_build")"
            i686-w64-mingw32-gcc -shared -O2 -s -Wall -Wextra -Werror -nostdlib \
                -Wl,--entry,_DllEntry@12 -Wl,--kill-at -Wl,--enable-stdcall-fixup \
                -o "$shim32_build" "$shim_src" "$shim_def" \
                -lkernel32 -ladvapi32 || die "building the 32-bit ProcessPrng shim failed"
            cp "$shim32_build" "$shim32_installed.tmp"
            mv -f "$shim32_installed.tmp" "$shim32_installed"
        fi
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
# Debian's `wine` starts Wine's 32-bit loader whenever wine32:i386 is installed, and builtin
# programs (reg, regsvr32, regedit, cmd) then run as 32-bit ones that see the 32-bit registry
# view. The 64-bit loader runs them as 64-bit Windows does and hands 32-bit programs to the
# 32-bit loader (a 32-bit builtin by its path: C:\windows\syswow64\regsvr32.exe).
if [ "${1:-}" = wine ] && [ -x /usr/lib/wine/wine64 ]; then
    shift
    exec /usr/lib/wine/wine64 "$@"
fi
exec "$@"
