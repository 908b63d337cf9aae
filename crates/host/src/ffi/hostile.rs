//! A hostile host: calls a driver's vtable from any thread, in any order,
//! from inside its own callbacks, and checks what a trusted driver promises.
//!
//! What it records, for the tests to assert:
//! * **overlapping switches** — a buffer switch entered while another one
//!   runs (two driver threads calling the host at once);
//! * **stray switches** — a switch from a driver thread after a `stop()` or
//!   `disposeBuffers()` that must have ended it returned `ASE_OK`. Before
//!   each such call the host notes the thread of the latest switch (its
//!   stream started before the call, so the call must end it); once the
//!   call returned `ASE_OK`, any switch from that thread is stray;
//! * **late messages** — an `asioMessage` or `sampleRateDidChange` while no
//!   buffers exist (after `disposeBuffers` returned, before the next
//!   `createBuffers` was called);
//! * **switches into disposed buffers** — the host writes every output
//!   buffer of the current set in every switch; a switch that finds the set
//!   disposed is counted (and writes nothing).
//!
//! The switch and message handlers can be scripted ([`on_switch`],
//! [`on_message`]) to call back into the driver.
//!
//! # Safety invariant (part of the `ffi` module's)
//! * [`RawDriver`] holds one reference to a live `IASIO` object until
//!   [`RawDriver::release`]; every call passes that object and pointers to
//!   locals of the sizes the ABI fixes. ASIO drivers are free-threaded, so
//!   `&self` calls from any thread are allowed — making them safe is exactly
//!   what the driver under test must do.
//! * ASIO callbacks carry no context, so one hostile host exists per
//!   process ([`HOST`]); the driver pointer it calls back is set by
//!   [`RawDriver::create_buffers`] and stays valid until the test releases
//!   the driver, after the last call it makes.
//! * Buffer sets are never freed while the process runs (a disposed set is
//!   only marked), so a late switch cannot make the host itself write freed
//!   memory; the pointers it writes through are the driver's, valid until
//!   `disposeBuffers` returns — which is what the stray and disposed-set
//!   counts check.

#![allow(clippy::disallowed_types)] // the host's own locks, not the driver's

use std::collections::HashSet;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use asio_abi::{
    message, AsioCallbacks, AsioChannelInfo, AsioError, AsioSamples, AsioTime, AsioTimeStamp,
    IAsio, IAsioVtbl, SampleType, ASE_OK,
};

/// A switch handler: the half the driver named.
pub type SwitchHook = Arc<dyn Fn(usize) + Send + Sync>;
/// A message handler: `Some(answer)` replaces the default answer.
pub type MessageHook = Arc<dyn Fn(i32, i32) -> Option<i32> + Send + Sync>;

/// What the hostile host saw.
#[derive(Debug, Default)]
pub struct Counters {
    /// Buffer switches received.
    pub switches: AtomicU64,
    /// Switches entered while another switch was running.
    pub overlapping: AtomicU64,
    /// Switches from a thread a returned `stop()`/`disposeBuffers()` ended.
    pub stray: AtomicU64,
    /// Switches that found the host's current buffer set disposed.
    pub into_disposed: AtomicU64,
    /// Messages (and rate changes) while no buffers existed.
    pub late_messages: AtomicU64,
    /// `kAsioResetRequest` received.
    pub resets: AtomicU64,
    /// `kAsioResyncRequest` received.
    pub resyncs: AtomicU64,
    /// `kAsioLatenciesChanged` received.
    pub latencies_changed: AtomicU64,
    /// `kAsioOverload` received.
    pub overloads: AtomicU64,
    /// Distinct driver threads that called a switch.
    pub driver_threads: AtomicU64,
    /// Most switches running at once (must stay 1).
    pub max_concurrent: AtomicU32,
}

impl Counters {
    /// The violations in words, empty when there are none.
    pub fn violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        let mut add = |n: u64, what: &str| {
            if n != 0 {
                v.push(format!("{n} {what}"));
            }
        };
        add(
            self.overlapping.load(Ordering::Acquire),
            "switches overlapped another switch (two driver threads calling the host)",
        );
        add(
            self.stray.load(Ordering::Acquire),
            "switches came after stop()/disposeBuffers() returned ASE_OK",
        );
        add(
            self.into_disposed.load(Ordering::Acquire),
            "switches came into disposed buffers",
        );
        add(
            self.late_messages.load(Ordering::Acquire),
            "messages came while no buffers existed",
        );
        v
    }
}

/// One set of buffers as `createBuffers` handed them out.
struct BufferSet {
    /// (is_input, halves, bytes per half).
    channels: Vec<(bool, [*mut u8; 2], usize)>,
    disposed: AtomicBool,
}

/// The process-wide hostile host.
struct Host {
    driver: AtomicPtr<IAsio>,
    counters: Counters,
    in_switch: AtomicU32,
    last_switch_thread: Mutex<Option<ThreadId>>,
    ended_threads: Mutex<HashSet<ThreadId>>,
    seen_threads: Mutex<HashSet<ThreadId>>,
    current: AtomicPtr<BufferSet>,
    /// Boxed: a set's address is what switches read, and must not move
    /// when the list grows.
    #[allow(clippy::vec_box)]
    all_sets: Mutex<Vec<Box<BufferSet>>>,
    /// Buffers exist (set before `createBuffers` is called, cleared after
    /// `disposeBuffers` returned `ASE_OK`).
    buffers_live: AtomicBool,
    switch_hook: Mutex<Option<SwitchHook>>,
    message_hook: Mutex<Option<MessageHook>>,
    /// Pairs createBuffers/disposeBuffers with the host's bookkeeping.
    bookkeeping: Mutex<()>,
    /// Time of the latest switch's end, ns since [`EPOCH`].
    last_switch_end_ns: AtomicI64,
}

// SAFETY: the raw pointers are only read (driver) or written through by the
// switch handler under the invariant above.
unsafe impl Sync for Host {}
// SAFETY: as above.
unsafe impl Send for Host {}

static HOST: std::sync::LazyLock<Host> = std::sync::LazyLock::new(|| Host {
    driver: AtomicPtr::new(std::ptr::null_mut()),
    counters: Counters::default(),
    in_switch: AtomicU32::new(0),
    last_switch_thread: Mutex::new(None),
    ended_threads: Mutex::new(HashSet::new()),
    seen_threads: Mutex::new(HashSet::new()),
    current: AtomicPtr::new(std::ptr::null_mut()),
    all_sets: Mutex::new(Vec::new()),
    buffers_live: AtomicBool::new(false),
    switch_hook: Mutex::new(None),
    message_hook: Mutex::new(None),
    bookkeeping: Mutex::new(()),
    last_switch_end_ns: AtomicI64::new(0),
});

static EPOCH: std::sync::LazyLock<Instant> = std::sync::LazyLock::new(Instant::now);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Nanoseconds since the host's epoch (for ordering events across threads).
pub fn now_ns() -> i64 {
    i64::try_from(EPOCH.elapsed().as_nanos()).unwrap_or(i64::MAX)
}

/// What the host saw so far.
pub fn counters() -> &'static Counters {
    &HOST.counters
}

/// When the latest switch returned, ns on [`now_ns`]'s clock.
pub fn last_switch_end_ns() -> i64 {
    HOST.last_switch_end_ns.load(Ordering::Acquire)
}

/// Scripts the switch handler (after the host's own checks and writes).
pub fn on_switch(hook: Option<SwitchHook>) {
    *lock(&HOST.switch_hook) = hook;
}

/// Scripts the message handler.
pub fn on_message(hook: Option<MessageHook>) {
    *lock(&HOST.message_hook) = hook;
}

/// The driver the callbacks call back (set by `createBuffers`).
pub fn driver() -> RawDriver {
    RawDriver {
        raw: NonNull::new(HOST.driver.load(Ordering::Acquire)),
    }
}

/// Resets scripts and counters between tests (no driver may be streaming).
pub fn reset() {
    on_switch(None);
    on_message(None);
    let c = &HOST.counters;
    for a in [
        &c.switches,
        &c.overlapping,
        &c.stray,
        &c.into_disposed,
        &c.late_messages,
        &c.resets,
        &c.resyncs,
        &c.latencies_changed,
        &c.overloads,
        &c.driver_threads,
    ] {
        a.store(0, Ordering::Release);
    }
    c.max_concurrent.store(0, Ordering::Release);
    lock(&HOST.seen_threads).clear();
    *lock(&HOST.last_switch_thread) = None;
    HOST.buffers_live.store(false, Ordering::Release);
    HOST.current.store(std::ptr::null_mut(), Ordering::Release);
}

/// A driver called through its vtable from any thread. Holds one reference
/// until [`RawDriver::release`]; copies share it (the test owns the count).
#[derive(Debug, Clone, Copy)]
pub struct RawDriver {
    raw: Option<NonNull<IAsio>>,
}

// SAFETY: ASIO drivers are free-threaded COM objects; calling them from
// several threads at once is what this host is for (module invariant).
unsafe impl Send for RawDriver {}
// SAFETY: as above.
unsafe impl Sync for RawDriver {}

/// `ASE_NotPresent`, returned for calls on a missing driver.
const NO_DRIVER: AsioError = asio_abi::ASE_NOT_PRESENT;

impl RawDriver {
    /// Takes over one reference to `raw`.
    ///
    /// # Safety
    /// `raw` must be a live `IASIO` object whose reference the caller hands
    /// over; it must stay alive until [`RawDriver::release`].
    pub unsafe fn from_raw(raw: *mut IAsio) -> Self {
        Self {
            raw: NonNull::new(raw),
        }
    }

    /// Takes over the reference of a host-library [`crate::Driver`].
    pub fn from_driver(driver: crate::Driver) -> Self {
        let raw = driver.as_raw();
        std::mem::forget(driver);
        Self {
            raw: NonNull::new(raw),
        }
    }

    fn call<R>(&self, missing: R, f: impl FnOnce(*mut IAsio, &IAsioVtbl) -> R) -> R {
        match self.raw {
            Some(raw) => {
                let raw = raw.as_ptr();
                // SAFETY: live object (module invariant); its first field is
                // the vtable pointer.
                let vtbl = unsafe { &*(*raw).vtbl };
                f(raw, vtbl)
            }
            None => missing,
        }
    }

    /// `init`.
    pub fn init(&self) -> bool {
        // SAFETY: live object; a null system handle is allowed.
        self.call(
            false,
            |r, v| unsafe { (v.init)(r, std::ptr::null_mut()) } != 0,
        )
    }

    /// `start`.
    pub fn start(&self) -> AsioError {
        // SAFETY: live object.
        self.call(NO_DRIVER, |r, v| unsafe { (v.start)(r) })
    }

    /// `stop`. When it returns `ASE_OK`, the thread of the latest switch
    /// before the call counts as ended.
    pub fn stop(&self) -> AsioError {
        let before = *lock(&HOST.last_switch_thread);
        // SAFETY: live object.
        let code = self.call(NO_DRIVER, |r, v| unsafe { (v.stop)(r) });
        if code == ASE_OK {
            if let Some(t) = before {
                lock(&HOST.ended_threads).insert(t);
            }
        }
        code
    }

    /// `getChannels`.
    pub fn channels(&self) -> (AsioError, i32, i32) {
        let (mut i, mut o) = (0, 0);
        // SAFETY: live object, pointers to locals.
        let c = self.call(NO_DRIVER, |r, v| unsafe {
            (v.get_channels)(r, &mut i, &mut o)
        });
        (c, i, o)
    }

    /// `getLatencies`.
    pub fn latencies(&self) -> AsioError {
        let (mut i, mut o) = (0, 0);
        // SAFETY: live object, pointers to locals.
        self.call(NO_DRIVER, |r, v| unsafe {
            (v.get_latencies)(r, &mut i, &mut o)
        })
    }

    /// `getBufferSize`.
    pub fn buffer_size(&self) -> AsioError {
        let (mut a, mut b, mut c, mut d) = (0, 0, 0, 0);
        // SAFETY: live object, pointers to locals.
        self.call(NO_DRIVER, |r, v| unsafe {
            (v.get_buffer_size)(r, &mut a, &mut b, &mut c, &mut d)
        })
    }

    /// `getSampleRate`.
    pub fn sample_rate(&self) -> (AsioError, f64) {
        let mut rate = 0.0;
        // SAFETY: live object, pointer to a local.
        let c = self.call(NO_DRIVER, |r, v| unsafe {
            (v.get_sample_rate)(r, &mut rate)
        });
        (c, rate)
    }

    /// `canSampleRate`.
    pub fn can_sample_rate(&self, rate: f64) -> AsioError {
        // SAFETY: live object.
        self.call(NO_DRIVER, |r, v| unsafe { (v.can_sample_rate)(r, rate) })
    }

    /// `setSampleRate`.
    pub fn set_sample_rate(&self, rate: f64) -> AsioError {
        // SAFETY: live object.
        self.call(NO_DRIVER, |r, v| unsafe { (v.set_sample_rate)(r, rate) })
    }

    /// `getSamplePosition`.
    pub fn sample_position(&self) -> AsioError {
        let mut pos = AsioSamples::default();
        let mut stamp = AsioTimeStamp::default();
        // SAFETY: live object, pointers to locals.
        self.call(NO_DRIVER, |r, v| unsafe {
            (v.get_sample_position)(r, &mut pos, &mut stamp)
        })
    }

    /// `getChannelInfo` for one channel: its sample type.
    pub fn sample_type(&self, is_input: bool, channel: i32) -> (AsioError, i32) {
        let mut info = AsioChannelInfo::zeroed();
        info.channel = channel;
        info.is_input = i32::from(is_input);
        // SAFETY: live object, pointer to a local.
        let c = self.call(NO_DRIVER, |r, v| unsafe {
            (v.get_channel_info)(r, &mut info)
        });
        (c, info.sample_type)
    }

    /// `outputReady`.
    pub fn output_ready(&self) -> AsioError {
        // SAFETY: live object.
        self.call(NO_DRIVER, |r, v| unsafe { (v.output_ready)(r) })
    }

    /// `future(selector, null)`.
    pub fn future(&self, selector: i32) -> AsioError {
        // SAFETY: live object; selectors the driver does not know take no
        // argument, the known ones are refused with a null pointer.
        self.call(NO_DRIVER, |r, v| unsafe {
            (v.future)(r, selector, std::ptr::null_mut())
        })
    }

    /// `getErrorMessage`.
    pub fn error_message(&self) -> String {
        let mut buf = [0 as std::ffi::c_char; asio_abi::ASIO_ERROR_MESSAGE_LEN];
        // SAFETY: live object, a 124-byte buffer.
        self.call((), |r, v| unsafe {
            (v.get_error_message)(r, buf.as_mut_ptr())
        });
        super::c_string(&buf)
    }

    /// `createBuffers` for `channels` (is_input, index) with the hostile
    /// host's callbacks; on `ASE_OK` the set becomes the host's current one.
    /// Serialised with [`RawDriver::dispose_buffers`] by the host's own
    /// bookkeeping lock (never held by a callback).
    pub fn create_buffers(&self, channels: &[(bool, i32)], frames: i32) -> AsioError {
        let _books = lock(&HOST.bookkeeping);
        self.create_buffers_booked(channels, frames)
    }

    /// `createBuffers` with the bookkeeping lock held by the caller.
    fn create_buffers_booked(&self, channels: &[(bool, i32)], frames: i32) -> AsioError {
        let Some(raw) = self.raw else {
            return NO_DRIVER;
        };
        let mut sizes = Vec::with_capacity(channels.len());
        for &(is_input, ch) in channels {
            let (c, t) = self.sample_type(is_input, ch);
            if c != ASE_OK {
                return c;
            }
            let bytes = SampleType::from_raw(t).map_or(0, SampleType::bytes_per_sample);
            sizes.push(usize::try_from(frames).unwrap_or(0) * bytes);
        }
        let mut infos = super::buffer_infos(channels);
        let callbacks = AsioCallbacks {
            buffer_switch: Some(on_switch_plain),
            sample_rate_did_change: Some(on_rate_changed),
            asio_message: Some(on_asio_message),
            buffer_switch_time_info: Some(on_switch_time_info),
        };
        let n = i32::try_from(infos.len()).unwrap_or(i32::MAX);
        HOST.driver.store(raw.as_ptr(), Ordering::Release);
        let was_live = HOST.buffers_live.swap(true, Ordering::AcqRel);
        // SAFETY: live object; `infos` holds `n` entries; the driver copies
        // the callbacks table (ASIO contract).
        let code = self.call(NO_DRIVER, |r, v| unsafe {
            (v.create_buffers)(r, infos.as_mut_ptr(), n, frames, &callbacks)
        });
        if code != ASE_OK {
            HOST.buffers_live.store(was_live, Ordering::Release);
            return code;
        }
        let set = Box::new(BufferSet {
            channels: infos
                .iter()
                .zip(sizes)
                .map(|(b, bytes)| {
                    let halves = b.buffers;
                    (b.is_input != 0, [halves[0].cast(), halves[1].cast()], bytes)
                })
                .collect(),
            disposed: AtomicBool::new(false),
        });
        let ptr = (&*set as *const BufferSet).cast_mut();
        lock(&HOST.all_sets).push(set);
        HOST.current.store(ptr, Ordering::Release);
        code
    }

    /// `disposeBuffers`. On `ASE_OK` the current set is marked disposed,
    /// the thread of the latest switch before the call counts as ended and
    /// any later message is late.
    pub fn dispose_buffers(&self) -> AsioError {
        let _books = lock(&HOST.bookkeeping);
        let before = *lock(&HOST.last_switch_thread);
        // SAFETY: live object.
        let code = self.call(NO_DRIVER, |r, v| unsafe { (v.dispose_buffers)(r) });
        if code == ASE_OK {
            if let Some(t) = before {
                lock(&HOST.ended_threads).insert(t);
            }
            HOST.buffers_live.store(false, Ordering::Release);
            let set = HOST.current.swap(std::ptr::null_mut(), Ordering::AcqRel);
            // SAFETY: sets live until the process ends (module invariant).
            if let Some(set) = unsafe { set.as_ref() } {
                set.disposed.store(true, Ordering::Release);
            }
        }
        code
    }

    /// `disposeBuffers` from inside a callback: no host bookkeeping lock
    /// (a control thread may hold it while it waits for this very switch).
    pub fn dispose_buffers_in_callback(&self) -> AsioError {
        let before = *lock(&HOST.last_switch_thread);
        // SAFETY: live object.
        let code = self.call(NO_DRIVER, |r, v| unsafe { (v.dispose_buffers)(r) });
        if code == ASE_OK {
            if let Some(t) = before {
                lock(&HOST.ended_threads).insert(t);
            }
            HOST.buffers_live.store(false, Ordering::Release);
            let set = HOST.current.swap(std::ptr::null_mut(), Ordering::AcqRel);
            // SAFETY: sets live until the process ends (module invariant).
            if let Some(set) = unsafe { set.as_ref() } {
                set.disposed.store(true, Ordering::Release);
            }
        }
        code
    }

    /// `createBuffers` from inside a callback (see
    /// [`RawDriver::dispose_buffers_in_callback`]).
    pub fn create_buffers_in_callback(&self, channels: &[(bool, i32)], frames: i32) -> AsioError {
        // A control thread may hold the bookkeeping lock while its
        // createBuffers/disposeBuffers waits for this very switch: taken
        // only if free, else the host gives up (as a busy host would).
        match HOST.bookkeeping.try_lock() {
            Ok(_books) => self.create_buffers_booked(channels, frames),
            Err(_) => asio_abi::ASE_INVALID_MODE,
        }
    }

    /// `Release`; returns the count it returned.
    pub fn release(self) -> u32 {
        // SAFETY: the test gives up the reference it handed to `from_raw`.
        self.call(0, |r, v| unsafe { (v.release)(r) })
    }
}

fn switch(half: i32) {
    let h = &*HOST;
    let me = std::thread::current().id();
    let c = &h.counters;
    let running = h.in_switch.fetch_add(1, Ordering::AcqRel) + 1;
    c.max_concurrent.fetch_max(running, Ordering::AcqRel);
    if running > 1 {
        c.overlapping.fetch_add(1, Ordering::AcqRel);
    }
    if lock(&h.ended_threads).contains(&me) {
        c.stray.fetch_add(1, Ordering::AcqRel);
    }
    if lock(&h.seen_threads).insert(me) {
        c.driver_threads.fetch_add(1, Ordering::AcqRel);
    }
    *lock(&h.last_switch_thread) = Some(me);
    c.switches.fetch_add(1, Ordering::AcqRel);
    let half = usize::from(half != 0);
    // SAFETY: sets live until the process ends (module invariant).
    if let Some(set) = unsafe { h.current.load(Ordering::Acquire).as_ref() } {
        if set.disposed.load(Ordering::Acquire) {
            c.into_disposed.fetch_add(1, Ordering::AcqRel);
        } else {
            for &(is_input, halves, bytes) in &set.channels {
                let p = halves[half];
                if p.is_null() || bytes == 0 {
                    continue;
                }
                // SAFETY: the driver's half buffer for this switch, `bytes`
                // long, owned by the host during the switch (ASIO contract);
                // the counts above catch a driver that breaks it.
                let buf = unsafe { std::slice::from_raw_parts_mut(p, bytes) };
                if is_input {
                    std::hint::black_box(buf.iter().fold(0u8, |a, b| a ^ b));
                } else {
                    buf.fill(0x11);
                }
            }
        }
    }
    let hook = lock(&h.switch_hook).clone();
    if let Some(hook) = hook {
        hook(half);
    }
    h.last_switch_end_ns.store(now_ns(), Ordering::Release);
    h.in_switch.fetch_sub(1, Ordering::AcqRel);
}

extern "C" fn on_switch_plain(index: i32, _direct: i32) {
    switch(index);
}

extern "C" fn on_switch_time_info(_t: *mut AsioTime, index: i32, _direct: i32) -> *mut AsioTime {
    switch(index);
    std::ptr::null_mut()
}

fn note_message() {
    if !HOST.buffers_live.load(Ordering::Acquire) {
        HOST.counters.late_messages.fetch_add(1, Ordering::AcqRel);
    }
}

extern "C" fn on_rate_changed(_rate: f64) {
    note_message();
}

extern "C" fn on_asio_message(selector: i32, value: i32, _m: *mut c_void, _o: *mut f64) -> i32 {
    note_message();
    let c = &HOST.counters;
    match selector {
        message::RESET_REQUEST => c.resets.fetch_add(1, Ordering::AcqRel),
        message::RESYNC_REQUEST => c.resyncs.fetch_add(1, Ordering::AcqRel),
        message::LATENCIES_CHANGED => c.latencies_changed.fetch_add(1, Ordering::AcqRel),
        message::OVERLOAD => c.overloads.fetch_add(1, Ordering::AcqRel),
        _ => 0,
    };
    let hook = lock(&HOST.message_hook).clone();
    if let Some(answer) = hook.and_then(|h| h(selector, value)) {
        return answer;
    }
    match selector {
        message::SELECTOR_SUPPORTED => i32::from(matches!(
            value,
            message::ENGINE_VERSION
                | message::RESET_REQUEST
                | message::RESYNC_REQUEST
                | message::LATENCIES_CHANGED
                | message::OVERLOAD
                | message::SUPPORTS_TIME_INFO
        )),
        message::ENGINE_VERSION => 2,
        message::SUPPORTS_TIME_INFO
        | message::RESET_REQUEST
        | message::RESYNC_REQUEST
        | message::LATENCIES_CHANGED
        | message::OVERLOAD => 1,
        _ => 0,
    }
}

/// Fails the test process unless dropped within `limit`: a hang is a
/// failure (printed straight to stderr, then the process aborts).
#[derive(Debug)]
pub struct Watchdog {
    done: Arc<AtomicBool>,
}

impl Watchdog {
    /// Starts watching `what`.
    pub fn start(what: &str, limit: Duration) -> Self {
        use std::io::Write as _;
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let what = what.to_owned();
        let _ = std::thread::Builder::new()
            .name(format!("watchdog {what}"))
            .spawn(move || {
                let deadline = Instant::now() + limit;
                while Instant::now() < deadline {
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = writeln!(
                    std::io::stderr(),
                    "`{what}` did not finish within {} s: a deadlock; aborting",
                    limit.as_secs()
                );
                std::process::abort();
            });
        Self { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
    }
}
