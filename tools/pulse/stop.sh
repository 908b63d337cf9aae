#!/usr/bin/env bash
# Tenuto test harness: stops the private PulseAudio daemon and its keep-alive client that
# tools/pulse/start.sh started (by the pids it recorded, never by name), and removes the socket.
# Safe to run when none runs.
set -euo pipefail

here=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$(dirname -- "$here")")
dir="${TENUTO_PULSE_DIR:-$root/target/pulse}"

# The keep-alive client first (it would exit with the daemon anyway).
if [ -f "$dir/keepalive.pid" ]; then
    pid=$(cat "$dir/keepalive.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^pacat .*tenuto-keepalive"; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/keepalive.pid"
fi

if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    # Only a pulseaudio process of ours: the pid file may be stale and the pid reused.
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "pulseaudio .*$dir/tenuto.pa"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "tools/pulse/stop.sh: PulseAudio (pid $pid) stopped" >&2
    else
        echo "tools/pulse/stop.sh: no PulseAudio of ours was running" >&2
    fi
    rm -f "$dir/pid"
else
    echo "tools/pulse/stop.sh: no PulseAudio of ours was running" >&2
fi
rm -f "$dir/native"
