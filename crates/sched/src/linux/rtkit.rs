//! rtkit (`org.freedesktop.RealtimeKit1` on the system bus), for when the
//! kernel refuses SCHED_FIFO/RR to an unprivileged process.
//!
//! rtkit grants at most its `MaxRealtimePriority` (20 by default), always
//! as SCHED_RR, and only to processes whose RLIMIT_RTTIME hard limit is at
//! most its `RTTimeUSecMax` (200 ms by default): the limit is set first
//! (soft = ¾ of rtkit's maximum, hard = the maximum), which is process-wide
//! and not undone (raising a hard limit again needs CAP_SYS_RESOURCE).
//!
//! The calls go over a blocking zbus connection made for the occasion: it
//! happens once at stream start (and in the doctor), never in the period
//! loop. The connection is this process's own, so rtkit identifies the
//! caller's process from the bus and `MakeThreadRealtime(tid, priority)`
//! names only the thread.

use std::time::Duration;

use thiserror::Error;
use zbus::blocking::connection::Builder;
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedValue, Value};

use super::error::Errno;
use super::state::{is_realtime, policy_name};
use super::sys;

/// rtkit's defaults, used when its properties have unexpected types.
const DEFAULT_MAX_PRIORITY: u32 = 20;
const DEFAULT_RTTIME_MAX_US: u64 = 200_000;

const BUS_NAME: &str = "org.freedesktop.RealtimeKit1";
const PATH: &str = "/org/freedesktop/RealtimeKit1";
const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// How long one call may take: rtkit answers at once or not at all, and
/// the caller is a host waiting for streaming to start.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the system bus or rtkit on it could not be asked. Completes
/// "rtkit unavailable (…)".
#[derive(Debug, Error)]
pub enum BusError {
    /// No system bus socket and no `DBUS_SYSTEM_BUS_ADDRESS`.
    #[error("no system bus")]
    NoSystemBus,
    /// The bus exists but the connection failed.
    #[error("cannot connect to the system bus: {0}")]
    Connect(#[source] zbus::Error),
    /// Reading one of rtkit's properties failed (rtkit not installed, not
    /// activatable, or the bus refused).
    #[error("cannot read {property}: {}", call_failure(.source))]
    Property {
        /// `MaxRealtimePriority` or `RTTimeUSecMax`.
        property: &'static str,
        /// What the bus answered.
        #[source]
        source: zbus::Error,
    },
}

/// Why rtkit did not make the thread real-time. Its text completes
/// "rtkit …" in [`LinuxSchedError::RtkitFailed`](super::LinuxSchedError).
#[derive(Debug, Error)]
pub enum RtkitError {
    /// The bus or rtkit could not be reached.
    #[error("unavailable ({0})")]
    Unavailable(#[from] BusError),
    /// RLIMIT_RTTIME could not be lowered to what rtkit requires, so rtkit
    /// was not asked.
    #[error("not asked (cannot set RLIMIT_RTTIME to {max_us} µs ({errno}))")]
    RttimeLimit {
        /// rtkit's `RTTimeUSecMax`.
        max_us: u64,
        /// What `setrlimit` returned.
        errno: Errno,
    },
    /// RLIMIT_RTTIME could not be read.
    #[error("not asked (cannot read RLIMIT_RTTIME)")]
    RttimeUnreadable,
    /// `MakeThreadRealtime` returned an error (polkit refused, limits).
    #[error("refused ({})", call_failure(.0))]
    Refused(#[source] zbus::Error),
    /// rtkit answered, but the thread's policy did not change.
    #[error("answered, but the thread is still {0}")]
    NotInEffect(&'static str),
    /// rtkit answered, but the policy cannot be read back.
    #[error("answered, but the thread's policy cannot be read back")]
    Unreadable,
}

impl RtkitError {
    /// What the user can do about rtkit.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Refused(_) => {
                "let rtkit grant it (polkit action org.freedesktop.RealtimeKit1.acquire-real-time \
                 needs an active login session)"
            }
            _ => "make rtkit-daemon reachable on the system bus",
        }
    }
}

/// A D-Bus error reply as its message ("Operation not permitted"), or its
/// name when it has none; other failures as zbus words them.
fn call_failure(e: &zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(_, Some(detail), _) if !detail.is_empty() => detail.clone(),
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        other => other.to_string(),
    }
}

fn system_bus_present() -> bool {
    std::env::var_os("DBUS_SYSTEM_BUS_ADDRESS").is_some()
        || std::path::Path::new("/run/dbus/system_bus_socket").exists()
        || std::path::Path::new("/var/run/dbus/system_bus_socket").exists()
}

fn connect() -> Result<Connection, BusError> {
    if !system_bus_present() {
        return Err(BusError::NoSystemBus);
    }
    Builder::system()
        .and_then(|b| b.method_timeout(CALL_TIMEOUT).build())
        .map_err(BusError::Connect)
}

/// `org.freedesktop.DBus.Properties.Get(rtkit, property)`.
fn property(conn: &Connection, property: &'static str) -> Result<OwnedValue, BusError> {
    conn.call_method(
        Some(BUS_NAME),
        PATH,
        Some(PROPERTIES),
        "Get",
        &(BUS_NAME, property),
    )
    .and_then(|reply| reply.body().deserialize::<OwnedValue>())
    .map_err(|source| BusError::Property { property, source })
}

/// A non-negative integer property of any D-Bus integer type (rtkit
/// declares `MaxRealtimePriority` as `i` and `RTTimeUSecMax` as `x`).
fn as_u64(value: &Value<'_>) -> Option<u64> {
    match value {
        Value::U8(v) => Some(u64::from(*v)),
        Value::I16(v) => u64::try_from(*v).ok(),
        Value::U16(v) => Some(u64::from(*v)),
        Value::I32(v) => u64::try_from(*v).ok(),
        Value::U32(v) => Some(u64::from(*v)),
        Value::I64(v) => u64::try_from(*v).ok(),
        Value::U64(v) => Some(*v),
        _ => None,
    }
}

/// `(MaxRealtimePriority, RTTimeUSecMax)` from the values read; rtkit's
/// defaults where a value has an unexpected type or range.
fn decode_properties(max_priority: &Value<'_>, rttime_max_us: &Value<'_>) -> (u32, u64) {
    (
        as_u64(max_priority)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(DEFAULT_MAX_PRIORITY),
        as_u64(rttime_max_us).unwrap_or(DEFAULT_RTTIME_MAX_US),
    )
}

/// rtkit's `MaxRealtimePriority` and `RTTimeUSecMax`.
pub(super) fn properties() -> Result<(u32, u64), BusError> {
    properties_on(&connect()?)
}

fn properties_on(conn: &Connection) -> Result<(u32, u64), BusError> {
    let max_priority = property(conn, "MaxRealtimePriority")?;
    let rttime_max_us = property(conn, "RTTimeUSecMax")?;
    Ok(decode_properties(&max_priority, &rttime_max_us))
}

/// The RLIMIT_RTTIME rtkit accepts, given the current one: `None` when the
/// hard limit is already at most `max_us`, else soft = ¾ of `max_us` (so
/// SIGXCPU comes before SIGKILL) and hard = `max_us`.
fn rttime_limit_for(current_hard: Option<u64>, max_us: u64) -> Option<(u64, u64)> {
    match current_hard {
        Some(hard) if hard <= max_us => None,
        _ => Some((max_us / 4 * 3, max_us)),
    }
}

/// Lowers RLIMIT_RTTIME so rtkit accepts the process; left as is when the
/// hard limit is already low enough.
fn limit_rttime_for_rtkit(max_us: u64) -> Result<(), RtkitError> {
    let rl = sys::getrlimit(libc::RLIMIT_RTTIME).ok_or(RtkitError::RttimeUnreadable)?;
    let Some((soft, hard)) = rttime_limit_for(sys::limit_value(rl.rlim_max), max_us) else {
        return Ok(());
    };
    let new = libc::rlimit {
        rlim_cur: soft as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    sys::setrlimit(libc::RLIMIT_RTTIME, &new)
        .map_err(|errno| RtkitError::RttimeLimit { max_us, errno })
}

/// Asks rtkit to make the calling thread real-time at `priority` (clamped
/// to rtkit's maximum) and reads back whether it did.
pub(super) fn make_realtime(priority: u8) -> Result<(), RtkitError> {
    let conn = connect()?;
    let (max_priority, rttime_max_us) = properties_on(&conn)?;
    limit_rttime_for_rtkit(rttime_max_us)?;
    let priority = u32::from(priority).min(max_priority);
    let tid = sys::gettid() as u64;
    conn.call_method(
        Some(BUS_NAME),
        PATH,
        Some(BUS_NAME),
        "MakeThreadRealtime",
        &(tid, priority),
    )
    .map_err(RtkitError::Refused)?;
    match sys::own_policy_and_priority() {
        Some((p, _)) if is_realtime(p) => Ok(()),
        Some((p, _)) => Err(RtkitError::NotInEffect(policy_name(p))),
        None => Err(RtkitError::Unreadable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_decode_any_integer_type() {
        assert_eq!(
            decode_properties(&Value::I32(20), &Value::I64(200_000)),
            (20, 200_000)
        );
        assert_eq!(
            decode_properties(&Value::U32(50), &Value::U64(1_000_000)),
            (50, 1_000_000)
        );
    }

    #[test]
    fn unexpected_property_values_give_rtkits_defaults() {
        assert_eq!(
            decode_properties(&Value::from("twenty"), &Value::I64(-1)),
            (DEFAULT_MAX_PRIORITY, DEFAULT_RTTIME_MAX_US)
        );
        assert_eq!(
            decode_properties(&Value::I64(i64::from(u32::MAX) + 1), &Value::Bool(true)),
            (DEFAULT_MAX_PRIORITY, DEFAULT_RTTIME_MAX_US)
        );
    }

    #[test]
    fn rttime_is_lowered_only_above_rtkits_maximum() {
        assert_eq!(rttime_limit_for(None, 200_000), Some((150_000, 200_000)));
        assert_eq!(
            rttime_limit_for(Some(500_000), 200_000),
            Some((150_000, 200_000))
        );
        assert_eq!(rttime_limit_for(Some(200_000), 200_000), None);
        assert_eq!(rttime_limit_for(Some(100_000), 200_000), None);
    }

    #[test]
    fn messages_complete_rtkit_and_say_what_to_do() {
        let e = RtkitError::from(BusError::NoSystemBus);
        assert_eq!(e.to_string(), "unavailable (no system bus)");
        assert_eq!(e.hint(), "make rtkit-daemon reachable on the system bus");
        let e = RtkitError::RttimeLimit {
            max_us: 200_000,
            errno: Errno(libc::EPERM),
        };
        assert_eq!(
            e.to_string(),
            "not asked (cannot set RLIMIT_RTTIME to 200000 µs (EPERM))"
        );
        let e = RtkitError::NotInEffect("SCHED_OTHER");
        assert_eq!(
            e.to_string(),
            "answered, but the thread is still SCHED_OTHER"
        );
        let e = RtkitError::Refused(zbus::Error::Failure("Operation not permitted".into()));
        assert!(e.to_string().starts_with("refused ("), "{e}");
        assert!(e.hint().contains("polkit"), "{}", e.hint());
    }

    #[test]
    fn the_realtime_call_carries_the_thread_and_priority() {
        // The body MakeThreadRealtime is sent with: (tid: t, priority: u).
        let msg = zbus::Message::method_call(PATH, "MakeThreadRealtime")
            .and_then(|b| b.destination(BUS_NAME))
            .and_then(|b| b.interface(BUS_NAME))
            .and_then(|b| b.build(&(4242u64, 10u32)))
            .expect("a valid method call");
        let body = msg.body();
        // The body is one struct of (t, u): `tu` on the wire.
        assert_eq!(body.signature().to_string(), "(tu)");
        assert_eq!(body.deserialize::<(u64, u32)>().unwrap(), (4242, 10));
        let header = msg.header();
        assert_eq!(header.member().unwrap().as_str(), "MakeThreadRealtime");
        assert_eq!(header.interface().unwrap().as_str(), BUS_NAME);
    }
}
