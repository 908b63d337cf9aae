#!/bin/sh
# A windres for aarch64-pc-windows-gnullvm builds (docs/INSTALLER.md, "ARM64"): winresource
# calls `windres -I<dir>... [--target T] input.rc output.o`; this compiles the same resource
# with `zig rc` (from PyPI's ziglang, `python-zig` on PATH) into an ARM64 COFF object.
# Use: WINDRES=tools/dist/zig-windres.sh cargo zigbuild --target aarch64-pc-windows-gnullvm ...
set -eu
includes=""
while [ $# -gt 2 ]; do
    case "$1" in
        -I*) includes="$includes /i ${1#-I}" ;;
        --target) shift ;;
    esac
    shift
done
# shellcheck disable=SC2086 # one word per include option
exec python-zig rc /:target arm64 $includes /fo "$2" "$1"
