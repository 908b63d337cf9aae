//! The one place that calls the host with anything but the buffer switch.
//!
//! `asioMessage` (reset, resync, latencies changed) and `sampleRateDidChange`
//! requests from the host's threads, the settings watcher, Windows' device
//! notifications and the driver thread's epilogue only *flag* a request here;
//! the messenger's own thread delivers it. So no caller ever calls into the
//! host while it holds the engine's lock, and a host that calls back into the
//! driver from its handler (a `stop()` inside `kAsioResetRequest`) finds the
//! lock free.
//!
//! Invariants:
//! * the host is called only while a target (the callbacks of the current
//!   buffers) is attached; [`Messenger::detach`] removes it and drops pending
//!   requests, and [`Messenger::wait_idle`] then waits (on any thread but the
//!   messenger's own) until a delivery that was already under way returns —
//!   so nothing is delivered after `disposeBuffers` or the last `Release`
//!   returned;
//! * the messenger's lock is never held while the host is called;
//! * the driver thread's own messages (overload, resync, latencies changed
//!   while streaming) do not come through here: it calls the host directly,
//!   wait-free, from the thread it owns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar};
use std::thread::{JoinHandle, ThreadId};

use asio_abi::message;

use crate::host::{HostCaps, HostMessages};
use crate::sync::Mutex;

/// Requests, one bit each.
const RESET: u32 = 1;
const RESYNC: u32 = 2;
const LATENCIES: u32 = 4;
const RATE: u32 = 8;

/// Whom the messenger delivers to: the host's callbacks for the current
/// buffers, and what the host said it handles.
struct Target {
    messages: Arc<dyn HostMessages>,
    caps: HostCaps,
}

#[derive(Default)]
struct State {
    target: Option<Target>,
    pending: u32,
    rate: f64,
    /// A delivery is under way (the host is being called, the lock is free).
    delivering: bool,
    /// Deliveries completed; lets a waiter wait for the one it saw, not later ones.
    delivered: u64,
    shutdown: bool,
    thread: Option<ThreadId>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    /// The messenger thread waits here for work.
    work: Condvar,
    /// Waiters for the end of a delivery wait here.
    idle: Condvar,
}

/// The flagging side, kept in [`crate::shared::Shared`], and the thread.
#[derive(Default)]
pub(crate) struct Messenger {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
    started: AtomicBool,
}

impl std::fmt::Debug for Messenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Messenger")
    }
}

/// A delivery that was under way when the target was detached.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Detached {
    in_flight: Option<u64>,
}

impl Messenger {
    /// Attaches the host's callbacks for new buffers (starting the thread on
    /// first use). Fails only when the OS refuses a thread.
    pub(crate) fn attach(
        &self,
        messages: Arc<dyn HostMessages>,
        caps: HostCaps,
    ) -> std::io::Result<()> {
        if !self.started.load(Ordering::Acquire) {
            let inner = Arc::clone(&self.inner);
            let handle = std::thread::Builder::new()
                .name("tenuto-messenger".to_owned())
                .spawn(move || inner.run())?;
            self.inner.state.lock().thread = Some(handle.thread().id());
            *self.thread.lock() = Some(handle);
            self.started.store(true, Ordering::Release);
        }
        let mut s = self.inner.state.lock();
        s.target = Some(Target { messages, caps });
        s.pending = 0;
        Ok(())
    }

    /// Removes the target and drops pending requests; returns what
    /// [`Messenger::wait_idle`] needs to wait for a delivery under way.
    pub(crate) fn detach(&self) -> Detached {
        let mut s = self.inner.state.lock();
        s.target = None;
        s.pending = 0;
        Detached {
            in_flight: s.delivering.then_some(s.delivered),
        }
    }

    /// Waits until the delivery under way at `detached` returned. Returns at
    /// once on the messenger's own thread (the host is calling us from its
    /// handler: that delivery ends when we return). Never call with the
    /// engine's lock held.
    pub(crate) fn wait_idle(&self, detached: Detached) {
        let Some(seen) = detached.in_flight else {
            return;
        };
        let mut s = self.inner.state.lock();
        if s.thread == Some(std::thread::current().id()) {
            return;
        }
        while s.delivering && s.delivered == seen {
            s = self
                .inner
                .idle
                .wait(s)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Whether the calling thread is the messenger's.
    pub(crate) fn is_current_thread(&self) -> bool {
        self.inner.state.lock().thread == Some(std::thread::current().id())
    }

    fn flag(&self, bit: u32, rate: f64) -> bool {
        let mut s = self.inner.state.lock();
        let Some(target) = &s.target else {
            return false;
        };
        let caps = target.caps;
        let handled = match bit {
            RESET => caps.reset_request,
            RESYNC => caps.resync_request,
            LATENCIES => caps.latencies_changed,
            _ => true,
        };
        if !handled {
            return false;
        }
        s.pending |= bit;
        if bit == RATE {
            s.rate = rate;
        }
        self.inner.work.notify_one();
        true
    }

    /// Flags `kAsioResetRequest`; false when no buffers exist or the host
    /// does not handle it.
    pub(crate) fn request_reset(&self) -> bool {
        self.flag(RESET, 0.0)
    }

    /// Flags `kAsioResyncRequest`.
    pub(crate) fn request_resync(&self) -> bool {
        self.flag(RESYNC, 0.0)
    }

    /// Flags `kAsioLatenciesChanged`.
    pub(crate) fn latencies_changed(&self) -> bool {
        self.flag(LATENCIES, 0.0)
    }

    /// Flags `sampleRateDidChange(rate)`.
    pub(crate) fn sample_rate_changed(&self, rate: f64) -> bool {
        self.flag(RATE, rate)
    }

    /// Stops the thread: detaches, waits for a delivery under way and joins
    /// the thread — except on the messenger's own thread (a host that
    /// releases the driver from its message handler), which cannot join
    /// itself and ends once that handler returns.
    pub(crate) fn shut_down(&self) {
        let detached = self.detach();
        self.wait_idle(detached);
        self.inner.state.lock().shutdown = true;
        self.inner.work.notify_all();
        let own = self.is_current_thread();
        if let Some(handle) = self.thread.lock().take() {
            if !own {
                let _ = handle.join();
            }
        }
    }
}

impl Inner {
    fn run(&self) {
        let mut s = self.state.lock();
        loop {
            if s.shutdown {
                return;
            }
            // One request per round: after each call into the host the
            // target is looked at again (the handler may have disposed).
            let bit = s.pending & s.pending.wrapping_neg();
            let work = match &s.target {
                Some(t) if bit != 0 => Some((Arc::clone(&t.messages), s.rate)),
                _ => None,
            };
            let Some((messages, rate)) = work else {
                s = self
                    .work
                    .wait(s)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            };
            s.pending &= !bit;
            s.delivering = true;
            drop(s);
            // A panic in the adapter must not end the messenger (the host
            // would never hear of a reset again).
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                deliver(messages.as_ref(), bit, rate);
            }));
            drop(messages);
            s = self.state.lock();
            s.delivering = false;
            s.delivered = s.delivered.wrapping_add(1);
            self.idle.notify_all();
        }
    }
}

fn deliver(messages: &dyn HostMessages, bit: u32, rate: f64) {
    match bit {
        RATE => messages.sample_rate_did_change(rate),
        LATENCIES => {
            messages.message(message::LATENCIES_CHANGED, 0);
        }
        RESYNC => {
            messages.message(message::RESYNC_REQUEST, 0);
        }
        _ => {
            messages.message(message::RESET_REQUEST, 0);
        }
    }
}
