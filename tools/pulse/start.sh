#!/usr/bin/env bash
# Tenuto test harness: starts a private PulseAudio daemon with a null sink and a null source,
# so that Wine's winepulse driver offers two audio endpoints that run at real-time pace without
# any sound hardware:
#
#   tenuto_sink     a null sink ("Tenuto Null Output"); its monitor, tenuto_sink.monitor,
#                   returns what was played (a loopback for end-to-end tests)
#   tenuto_source   a null source ("Tenuto Null Input"; silence)
#
# plus a keep-alive client (pacat) that plays digital silence into tenuto_sink at 2 ms latency
# for as long as the daemon runs. Without it an idle null sink runs with 2-second blocks, and
# the first stream to connect is not consumed for up to a second: winepulse's render clock then
# stalls and a duplex client sees its output pile up. Mixing zeros changes no sample.
# The null sink renders (and its monitor records) in blocks of the lowest latency a client
# asks for. 2 ms blocks make it behave like a sound card, whose audio moves in small DMA
# steps: with 10 ms blocks a new stream's audio lands in the current block or the next at
# random, and the round trip of a loopback changes by a whole 10 ms from one start to the
# next, below anything a WASAPI client can see.
#
# Usage:
#   eval "$(tools/pulse/start.sh)"   start (or reuse) the daemon and export PULSE_SERVER etc.
#   tools/pulse/start.sh --check     also run `tenuto.exe devices` under Wine and require that
#                                    it lists both endpoints (needs a built tenuto.exe)
#   tools/pulse/stop.sh              stop it
#
# Everything lives under <repo>/target/pulse (TENUTO_PULSE_DIR overrides it): the daemon's
# configuration, its runtime directory, its socket (target/pulse/native), its log and pid. No
# root is needed (as root the daemon warns that it is not in --system mode; that is harmless).
# The daemon never exits on idle. Starting is idempotent: a daemon that answers on our socket is
# reused.
#
# Wine: winepulse connects to $PULSE_SERVER. If the Wine prefix has been told to use another
# audio driver (HKCU\Software\Wine\Drivers, value Audio), this script sets it to "pulse" so that
# the endpoints above are the ones Wine shows.
#
# Prints `export VAR=VALUE` lines on stdout (for eval); messages go to stderr.
set -euo pipefail

here=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$(dirname -- "$here")")
dir="${TENUTO_PULSE_DIR:-$root/target/pulse}"
socket="$dir/native"
check=0
[ "${1:-}" = "--check" ] && check=1

die() {
    echo "tools/pulse/start.sh: $*" >&2
    exit 1
}

command -v pulseaudio >/dev/null 2>&1 ||
    die "pulseaudio is not installed (apt-get install --no-install-recommends pulseaudio)"
command -v pactl >/dev/null 2>&1 ||
    die "pactl is not installed (apt-get install --no-install-recommends pulseaudio-utils)"

mkdir -p "$dir/runtime" "$dir/state"
chmod 700 "$dir/runtime"
export PULSE_SERVER="unix:$socket"
export PULSE_RUNTIME_PATH="$dir/runtime"
export PULSE_STATE_PATH="$dir/state"
# A cookie file of our own: clients never touch ~/.config/pulse (auth is anonymous anyway).
export PULSE_COOKIE="$dir/cookie"

answers() {
    pactl --server="$PULSE_SERVER" info >/dev/null 2>&1
}

if ! answers; then
    cat >"$dir/tenuto.pa" <<PA
# Written by tools/pulse/start.sh. A null sink and a null source, and the native protocol on a
# private socket with anonymous authentication (no cookie to share with Wine).
load-module module-native-protocol-unix socket=$socket auth-anonymous=1
load-module module-null-sink sink_name=tenuto_sink rate=48000 format=float32le channels=2 sink_properties=device.description="Tenuto\ Null\ Output"
load-module module-null-source source_name=tenuto_source rate=48000 format=float32le channels=2 description="Tenuto\ Null\ Input"
set-default-sink tenuto_sink
set-default-source tenuto_source
PA
    cat >"$dir/daemon.conf" <<CONF
# Written by tools/pulse/start.sh (the daemon reads it through PULSE_CONFIG).
daemonize = no
exit-idle-time = -1
use-pid-file = no
system-instance = no
realtime-scheduling = yes
high-priority = yes
enable-shm = no
flat-volumes = no
log-target = stderr
# debug: PulseAudio then logs each underrun of a client's stream ("Implicit underrun of
# '<stream>'"), a dropout below WASAPI that no client can see; the Wine loopback sweep counts
# them per run. About 150 lines a second while streams start and stop, a few when they run.
log-level = debug
default-sample-format = float32le
default-sample-rate = 48000
alternate-sample-rate = 48000
default-sample-channels = 2
CONF
    rm -f "$socket"
    # -n: no default script; -F: ours. setsid: its own session, so that a terminal's or CI
    # step's signals do not reach it; stop.sh ends it by its pid.
    PULSE_CONFIG="$dir/daemon.conf" setsid pulseaudio -n -F "$dir/tenuto.pa" \
        --daemonize=no --exit-idle-time=-1 --use-pid-file=no --log-target=stderr --log-time=1 \
        </dev/null >"$dir/pulseaudio.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        answers && break
        kill -0 "$(cat "$dir/pid")" 2>/dev/null ||
            die "pulseaudio exited at once; see $dir/pulseaudio.log: $(tail -n 3 "$dir/pulseaudio.log" | tr '\n' ' ')"
        sleep 0.1
    done
    answers || die "pulseaudio does not answer on $socket after 10 s; see $dir/pulseaudio.log"
    echo "tools/pulse/start.sh: PulseAudio started (pid $(cat "$dir/pid")), socket $socket" >&2
else
    echo "tools/pulse/start.sh: reusing the PulseAudio daemon on $socket" >&2
fi

pactl list short sinks | grep -q '	tenuto_sink	' || die "the null sink tenuto_sink is missing"

# The keep-alive (see the header). Reused while its pid is a pacat of ours.
keepalive_running() {
    local pid
    pid=$(cat "$dir/keepalive.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^pacat .*tenuto-keepalive"
}
if ! keepalive_running; then
    command -v pacat >/dev/null 2>&1 ||
        die "pacat is not installed (apt-get install --no-install-recommends pulseaudio-utils)"
    setsid pacat --playback --device=tenuto_sink --latency-msec=2 --format=float32le \
        --rate=48000 --channels=2 --client-name=tenuto-keepalive /dev/zero \
        </dev/null >"$dir/keepalive.log" 2>&1 &
    echo $! >"$dir/keepalive.pid"
    for _ in $(seq 1 50); do
        pactl list short sinks | grep '	tenuto_sink	' | grep -q RUNNING && break
        sleep 0.1
    done
    keepalive_running || die "the keep-alive client (pacat) exited; see $dir/keepalive.log"
fi
pactl list short sources | grep -q '	tenuto_source	' || die "the null source tenuto_source is missing"

# Wine: make sure the prefix uses winepulse. Wine 8 tries pulse first anyway, but a prefix may
# have been told otherwise (winecfg writes HKCU\Software\Wine\Drivers\Audio).
wine_env="$root/tools/wine/env.sh"
audio_driver() {
    "$wine_env" wine reg query 'HKCU\Software\Wine\Drivers' /v Audio 2>/dev/null |
        tr -d '\r' | awk '$1 == "Audio" { print $3 }'
}
if command -v wine >/dev/null 2>&1; then
    current=$(audio_driver || true)
    if [ -n "$current" ] && [ "$current" != "pulse" ]; then
        "$wine_env" wine reg add 'HKCU\Software\Wine\Drivers' /v Audio /t REG_SZ /d pulse /f \
            >/dev/null 2>&1 || die "could not set the Wine prefix's audio driver to pulse"
        echo "tools/pulse/start.sh: the Wine prefix used the audio driver \"$current\"; set it to \"pulse\"" >&2
    fi
fi

if [ "$check" = 1 ]; then
    exe="${TENUTO_EXE:-}"
    if [ -z "$exe" ]; then
        for d in "${CARGO_TARGET_DIR:-$root/target}" "$root/target"; do
            for p in debug release; do
                f="$d/x86_64-pc-windows-gnu/$p/tenuto.exe"
                if [ -f "$f" ] && { [ -z "$exe" ] || [ "$f" -nt "$exe" ]; }; then exe=$f; fi
            done
        done
    fi
    [ -n "$exe" ] || die "--check needs tenuto.exe: cargo build -p tenuto-cli --target x86_64-pc-windows-gnu (or set TENUTO_EXE)"
    out=$("$wine_env" wine "$exe" devices 2>&1) || die "tenuto.exe devices failed: $out"
    echo "$out" >&2
    echo "$out" | grep -q 'Tenuto Null Output' || die "Wine does not list the null sink (Tenuto Null Output)"
    echo "$out" | grep -q 'Tenuto Null Input' || die "Wine does not list the null source (Tenuto Null Input)"
    echo "tools/pulse/start.sh: Wine lists the null sink and source through winepulse" >&2
fi

for v in PULSE_SERVER PULSE_RUNTIME_PATH PULSE_STATE_PATH PULSE_COOKIE; do
    printf 'export %s=%q\n' "$v" "${!v}"
done
