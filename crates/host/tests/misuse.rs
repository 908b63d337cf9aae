//! Misuse tests: every IASIO method in every state, bad arguments in valid
//! states, null pointers, and Release while streaming.
//!
//! The contract under test: a call made in the wrong state or with a wrong
//! argument returns the right ASIO error and leaves an explanation for
//! `getErrorMessage` (at most 123 bytes plus NUL) — never a panic, a hang or
//! a crash — and the driver keeps working afterwards.
//!
//! Every call goes through the vtable of the in-process driver object, the
//! exact functions the Windows DLL exports. The expected results are a table
//! ([`MATRIX`]), derived from `tenuto_engine::engine` and
//! `tenuto_driver::object`; it is printed in full when a cell disagrees.
//!
//! ASIO callbacks carry no context pointer, so the host library allows one
//! streaming session per process: all tests here run one at a time under
//! [`LOCK`]. Each also runs under a watchdog that aborts the process if the
//! test has not finished within 60 s (a hang is a failure, not a stall).

use std::any::Any;
use std::ffi::c_char;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use asio_abi::{
    error_name, future, AsioBool, AsioBufferInfo, AsioCallbacks, AsioChannelInfo, AsioClockSource,
    AsioInternalBufferInfo, AsioSamples, AsioTimeStamp, ASE_HW_MALFUNCTION, ASE_INVALID_MODE,
    ASE_INVALID_PARAMETER, ASE_NOT_PRESENT, ASE_NO_CLOCK, ASE_OK, ASE_SP_NOT_ADVANCING,
    ASE_SUCCESS, ASIO_FALSE, ASIO_TRUE,
};
use tenuto_engine::virtual_device::{VirtualConfig, VirtualDevice};
use tenuto_engine::{Engine, EngineOptions};
use tenuto_host::{Driver, HostOptions, Period, PeriodHandler, Session};

// ---------------------------------------------------------------------------
// Test harness: serialisation, watchdog, driver construction
// ---------------------------------------------------------------------------

/// Serialises the tests of this file: the host library routes callbacks
/// through one process-wide slot, and the stray-callback and live-object
/// counters are process-wide too.
// The workspace bans `std::sync::Mutex` so that driver code uses the
// instrumented `tenuto_engine::sync::Mutex`; this lock belongs to the test
// harness, never to the driver, so the plain one is right here.
#[allow(clippy::disallowed_types)]
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How long one test may run before the watchdog aborts the process.
const TEST_BUDGET: Duration = Duration::from_secs(60);

/// Aborts the process (with a message naming the test) unless dropped
/// within [`TEST_BUDGET`].
struct Watchdog {
    done: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(test: &'static str) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        std::thread::Builder::new()
            .name(format!("watchdog {test}"))
            .spawn(move || {
                let deadline = Instant::now() + TEST_BUDGET;
                while Instant::now() < deadline {
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                if !flag.load(Ordering::Acquire) {
                    // Straight to stderr: the test harness captures
                    // `eprintln!`, and that capture dies with the process.
                    let _ = writeln!(
                        std::io::stderr(),
                        "misuse test `{test}` did not finish within {} s: the driver hangs; aborting",
                        TEST_BUDGET.as_secs()
                    );
                    std::process::abort();
                }
            })
            .expect("spawn watchdog thread");
        Self { done }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Release);
    }
}

/// Held for the whole test: the watchdog (dropped first) and the lock.
struct TestGuard {
    _watchdog: Watchdog,
    _lock: MutexGuard<'static, ()>,
}

/// Starts a test: takes [`LOCK`], then arms the watchdog. The watchdog is
/// armed after the lock so that time spent waiting for other tests (each
/// under its own watchdog) does not count against this one.
fn begin(test: &'static str) -> TestGuard {
    let lock = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    TestGuard {
        _watchdog: Watchdog::start(test),
        _lock: lock,
    }
}

fn driver_with(config: VirtualConfig) -> Driver {
    let engine = Engine::new(
        Box::new(VirtualDevice::new(config)),
        EngineOptions::default(),
    );
    Driver::from_instance(tenuto_driver::create_instance(engine))
}

/// Every channel of the default device, as `(is_input, index)`.
const ALL_CHANNELS: [(bool, i32); 4] = [(true, 0), (true, 1), (false, 0), (false, 1)];
/// A buffer size the default device accepts.
const FRAMES: i32 = 128;
/// The default device's rate, and another rate it offers.
const RATE: f64 = 48_000.0;
const OTHER_RATE: f64 = 44_100.0;
/// Largest error message: 124-byte buffer including the NUL.
const MAX_MESSAGE: usize = 123;

/// Writes silence; the tests care about calls, not audio.
struct Silence;

impl PeriodHandler for Silence {
    fn process(&mut self, period: &mut Period<'_>) {
        for b in 0..period.buffer_count() {
            if !period.is_input(b) {
                period.buffer_mut(b).fill(0);
            }
        }
    }

    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// A driver plus (when buffers exist) the host session that receives its
/// callbacks. Dropping it releases the driver *first* (Release stops
/// streaming and joins the driver thread), then frees the session, so no
/// callback can reach freed session memory.
struct Rig {
    driver: Option<Driver>,
    session: Option<Session>,
}

impl Rig {
    fn new(config: VirtualConfig) -> Self {
        Self {
            driver: Some(driver_with(config)),
            session: None,
        }
    }

    fn d(&mut self) -> &mut Driver {
        self.driver.as_mut().expect("driver present")
    }

    /// `createBuffers` through the host library, with `options`.
    fn create_with(
        &mut self,
        channels: &[(bool, i32)],
        frames: i32,
        options: HostOptions,
    ) -> Result<(), tenuto_host::CallError> {
        assert!(self.session.is_none(), "rig already has a session");
        let session = self
            .d()
            .create_buffers(channels, frames, options, Box::new(Silence))?;
        self.session = Some(session);
        Ok(())
    }

    fn create(&mut self) -> Result<(), tenuto_host::CallError> {
        self.create_with(&ALL_CHANNELS, FRAMES, HostOptions::default())
    }

    fn begin_session(&self) {
        if let Some(s) = &self.session {
            s.begin();
        }
    }

    fn end_session(&self) {
        if let Some(s) = &self.session {
            s.end();
        }
    }

    /// Called after `disposeBuffers` returned `ASE_OK`: the driver holds no
    /// callbacks any more, so the session may go.
    fn buffers_gone(&mut self) {
        if let Some(s) = self.session.take() {
            s.end();
            drop(s);
        }
    }

    /// `start`. The session is marked streaming first (a switch may come
    /// before `start` returns) and left so if `start` fails: a refused
    /// `start` while streaming must not make the running stream's switches
    /// look stray, and without a running stream no switch comes anyway.
    fn start(&mut self) -> Result<(), tenuto_host::CallError> {
        self.begin_session();
        self.d().start()
    }

    fn stop(&mut self) -> Result<(), tenuto_host::CallError> {
        let r = self.d().stop();
        if r.is_ok() {
            self.end_session();
        }
        r
    }

    fn dispose(&mut self) -> Result<(), tenuto_host::CallError> {
        let r = self.d().dispose_buffers();
        if r.is_ok() {
            self.buffers_gone();
        }
        r
    }

    /// Buffer switches the session received so far (0 without a session).
    fn switches(&self) -> u64 {
        self.session
            .as_ref()
            .map_or(0, |s| s.counters().switches.load(Ordering::Acquire))
    }

    /// Waits (at most 5 s) until at least `n` more switches arrived.
    fn wait_for_switches(&self, n: u64) -> bool {
        let target = self.switches() + n;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.switches() >= target {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }

    /// The whole correct sequence a host performs; proves the driver still
    /// works after whatever was done to it before. Leaves it initialized
    /// without buffers.
    fn assert_full_cycle(&mut self, after: &str) {
        let ctx = |step: &str, e: &dyn std::fmt::Debug| {
            format!("after {after}: the correct {step} failed: {e:?}")
        };
        if let Err(e) = self.create() {
            panic!("{}", ctx("createBuffers", &e));
        }
        if let Err(e) = self.start() {
            panic!("{}", ctx("start", &e));
        }
        assert!(
            self.wait_for_switches(2),
            "after {after}: no buffer switch arrived within 5 s of start()"
        );
        if let Err(e) = self.stop() {
            panic!("{}", ctx("stop", &e));
        }
        if let Err(e) = self.dispose() {
            panic!("{}", ctx("disposeBuffers", &e));
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // Release first: it stops streaming and joins the driver thread.
        drop(self.driver.take());
        self.buffers_gone();
    }
}

// ---------------------------------------------------------------------------
// Raw vtable calls (exact return codes, guarded string buffers)
// ---------------------------------------------------------------------------

/// Calls IASIO method `$m` of the driver `$d` with the given arguments.
macro_rules! vcall {
    ($d:expr, $m:ident $(, $arg:expr)* $(,)?) => {{
        let d: &Driver = $d;
        let vtbl = tenuto_host::vtbl_of(d);
        // SAFETY: `d` owns a reference to a live driver object, and every
        // argument is a value or points to a live local of the type and size
        // the ASIO ABI requires (or is null where the test means null).
        unsafe { (vtbl.$m)(d.as_raw() $(, $arg)*) }
    }};
}

/// Filler for string buffers, to see where the driver wrote.
const GUARD: c_char = 0x5a;

/// Reads a fixed-size C string the driver wrote into a guarded buffer:
/// checks it is NUL-terminated inside `len` bytes, that nothing was written
/// past `len`, and that it is UTF-8.
fn guarded_string(buf: &[c_char], len: usize, what: &str) -> Result<String, String> {
    let nul = buf[..len]
        .iter()
        .position(|&c| c == 0)
        .ok_or_else(|| format!("{what}: no NUL within {len} bytes"))?;
    if buf[len..].iter().any(|&c| c != GUARD) {
        return Err(format!("{what}: the driver wrote past {len} bytes"));
    }
    let bytes: Vec<u8> = asio_abi::c_string_bytes(&buf[..=nul]).collect();
    String::from_utf8(bytes).map_err(|e| format!("{what}: not UTF-8: {e}"))
}

/// `getErrorMessage` into a guarded 124-byte buffer.
fn error_message(d: &Driver) -> Result<String, String> {
    let mut buf = [GUARD; 124 + 16];
    vcall!(d, get_error_message, buf.as_mut_ptr());
    guarded_string(&buf, 124, "getErrorMessage")
}

/// `getDriverName` into a guarded 32-byte buffer.
fn driver_name(d: &Driver) -> Result<String, String> {
    let mut buf = [GUARD; 32 + 16];
    vcall!(d, get_driver_name, buf.as_mut_ptr());
    guarded_string(&buf, 32, "getDriverName")
}

fn sample_position(d: &Driver) -> i32 {
    let mut pos = AsioSamples::default();
    let mut stamp = AsioTimeStamp::default();
    vcall!(d, get_sample_position, &mut pos, &mut stamp)
}

fn channel_info(d: &Driver, channel: i32, is_input: bool) -> (i32, AsioChannelInfo) {
    let mut ci = AsioChannelInfo::zeroed();
    ci.channel = channel;
    ci.is_input = if is_input { ASIO_TRUE } else { ASIO_FALSE };
    let code = vcall!(d, get_channel_info, &mut ci);
    (code, ci)
}

fn clock_sources(d: &Driver, capacity: i32) -> (i32, i32, AsioClockSource) {
    let mut clocks = [AsioClockSource::zeroed(); 4];
    let mut n = capacity;
    let code = vcall!(d, get_clock_sources, clocks.as_mut_ptr(), &mut n);
    (code, n, clocks[0])
}

fn infos_for(channels: &[(bool, i32)]) -> Vec<AsioBufferInfo> {
    channels
        .iter()
        .map(|&(is_input, channel)| {
            let mut b = AsioBufferInfo::zeroed();
            b.is_input = if is_input { ASIO_TRUE } else { ASIO_FALSE };
            b.channel_num = channel;
            b
        })
        .collect()
}

/// Buffer switches that reached the test's own callbacks (they must never
/// arrive: buffers created with them are never started).
static TEST_CALLBACKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn test_switch(_index: i32, _direct: AsioBool) {
    TEST_CALLBACKS.fetch_add(1, Ordering::AcqRel);
}

extern "C" fn test_message(
    _selector: i32,
    _value: i32,
    _message: *mut std::ffi::c_void,
    _opt: *mut f64,
) -> i32 {
    0
}

fn test_callbacks() -> AsioCallbacks {
    AsioCallbacks {
        buffer_switch: Some(test_switch),
        sample_rate_did_change: None,
        asio_message: Some(test_message),
        buffer_switch_time_info: None,
    }
}

/// `createBuffers` with an explicit `numChannels` (which may disagree with
/// the array: the array always holds at least `max(num, 0)` entries, padded
/// with valid output entries so an unchecked read stays in bounds).
fn create_buffers_raw(
    d: &Driver,
    channels: &[(bool, i32)],
    num: i32,
    frames: i32,
    callbacks: Option<&AsioCallbacks>,
) -> i32 {
    let mut infos = infos_for(channels);
    let want = usize::try_from(num).unwrap_or(0);
    while infos.len() < want {
        infos.extend(infos_for(&[(false, 0)]));
    }
    let cb = callbacks.map_or(std::ptr::null(), |c| c as *const AsioCallbacks);
    vcall!(d, create_buffers, infos.as_mut_ptr(), num, frames, cb)
}

// ---------------------------------------------------------------------------
// The state × method matrix
// ---------------------------------------------------------------------------

/// Where the driver is when the call under test is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Created, `init` never called.
    Loaded,
    /// `init` was called and failed (a device with no channels).
    InitFailed,
    /// `init` succeeded, no buffers.
    Initialized,
    /// Buffers created, not started.
    Prepared,
    /// Streaming.
    Running,
    /// Started and stopped again; buffers still exist.
    Stopped,
    /// Full cycle done: created, started, stopped, disposed.
    Disposed,
}

const STATES: [State; 7] = [
    State::Loaded,
    State::InitFailed,
    State::Initialized,
    State::Prepared,
    State::Running,
    State::Stopped,
    State::Disposed,
];

/// What an outside observer can tell apart (see [`probe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    NotInitialized,
    NoBuffers,
    Idle,
    Streaming,
}

impl State {
    fn label(self) -> &'static str {
        match self {
            Self::Loaded => "Loaded",
            Self::InitFailed => "InitFailed",
            Self::Initialized => "Initialized",
            Self::Prepared => "Prepared",
            Self::Running => "Running",
            Self::Stopped => "Stopped",
            Self::Disposed => "Disposed",
        }
    }

    fn class(self) -> Class {
        match self {
            Self::Loaded | Self::InitFailed => Class::NotInitialized,
            Self::Initialized | Self::Disposed => Class::NoBuffers,
            Self::Prepared | Self::Stopped => Class::Idle,
            Self::Running => Class::Streaming,
        }
    }

    /// A fresh driver brought into this state through correct calls.
    fn establish(self) -> Rig {
        let config = if self == Self::InitFailed {
            VirtualConfig {
                inputs: 0,
                outputs: 0,
                ..VirtualConfig::default()
            }
        } else {
            VirtualConfig::default()
        };
        let mut rig = Rig::new(config);
        let setup = |step: &str, e: &dyn std::fmt::Debug| {
            format!("setting up state {}: {step} failed: {e:?}", self.label())
        };
        match self {
            Self::Loaded => return rig,
            Self::InitFailed => {
                assert!(!rig.d().init(), "{}", setup("init() refusal", &"TRUE"));
                return rig;
            }
            _ => assert!(rig.d().init(), "{}", setup("init", &"FALSE")),
        }
        if self == Self::Initialized {
            return rig;
        }
        if let Err(e) = rig.create() {
            panic!("{}", setup("createBuffers", &e));
        }
        if self == Self::Prepared {
            return rig;
        }
        if let Err(e) = rig.start() {
            panic!("{}", setup("start", &e));
        }
        if self == Self::Running {
            return rig;
        }
        if let Err(e) = rig.stop() {
            panic!("{}", setup("stop", &e));
        }
        if self == Self::Stopped {
            return rig;
        }
        if let Err(e) = rig.dispose() {
            panic!("{}", setup("disposeBuffers", &e));
        }
        rig
    }
}

/// Which state class the driver is in, asked without changing it.
fn probe(d: &Driver) -> Class {
    let mut i = 0;
    let mut o = 0;
    if vcall!(d, get_channels, &mut i, &mut o) != ASE_OK {
        return Class::NotInitialized;
    }
    if sample_position(d) == ASE_OK {
        return Class::Streaming;
    }
    let (code, ci) = channel_info(d, 0, false);
    if code == ASE_OK && ci.is_active == ASIO_TRUE {
        Class::Idle
    } else {
        Class::NoBuffers
    }
}

/// One IASIO call with fixed, valid arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Init,
    GetDriverName,
    GetDriverVersion,
    GetErrorMessage,
    Start,
    Stop,
    GetChannels,
    GetLatencies,
    GetBufferSize,
    CanSampleRate,
    GetSampleRate,
    SetSampleRateSame,
    SetSampleRateOther,
    GetClockSources,
    SetClockSource,
    GetSamplePosition,
    GetChannelInfo,
    CreateBuffers,
    DisposeBuffers,
    ControlPanel,
    Future(i32),
    OutputReady,
}

/// An unknown `future()` selector.
const UNKNOWN_SELECTOR: i32 = 0x7e57_0001;

impl Call {
    /// The method name as the ASIO API spells it (what messages mention).
    fn method(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::GetDriverName => "getDriverName",
            Self::GetDriverVersion => "getDriverVersion",
            Self::GetErrorMessage => "getErrorMessage",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::GetChannels => "getChannels",
            Self::GetLatencies => "getLatencies",
            Self::GetBufferSize => "getBufferSize",
            Self::CanSampleRate => "canSampleRate",
            Self::GetSampleRate => "getSampleRate",
            Self::SetSampleRateSame | Self::SetSampleRateOther => "setSampleRate",
            Self::GetClockSources => "getClockSources",
            Self::SetClockSource => "setClockSource",
            Self::GetSamplePosition => "getSamplePosition",
            Self::GetChannelInfo => "getChannelInfo",
            Self::CreateBuffers => "createBuffers",
            Self::DisposeBuffers => "disposeBuffers",
            Self::ControlPanel => "controlPanel",
            Self::Future(_) => "future",
            Self::OutputReady => "outputReady",
        }
    }

    /// Row label in the printed matrix.
    fn label(self) -> String {
        match self {
            Self::CanSampleRate => "canSampleRate(48k)".to_owned(),
            Self::SetSampleRateSame => "setSampleRate(48k, same)".to_owned(),
            Self::SetSampleRateOther => "setSampleRate(44.1k)".to_owned(),
            Self::SetClockSource => "setClockSource(0)".to_owned(),
            Self::GetChannelInfo => "getChannelInfo(out 0)".to_owned(),
            Self::Future(sel) => match future::name(sel) {
                Some(name) => format!("future({name})"),
                None => format!("future({sel:#x})"),
            },
            other => other.method().to_owned(),
        }
    }
}

/// An expected (or observed) result of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exp {
    /// An `ASIOError` return value.
    Code(i32),
    /// `ASE_NotPresent` from `future()` for a selector the driver does not
    /// support: a probe, not a mistake, so no error message is required.
    Unsupported,
    /// `init` returned `ASIOTrue`.
    True,
    /// `init` returned `ASIOFalse` (an error message is required).
    False,
    /// A function without an error code (name, version, message).
    Void,
}

const OK: Exp = Exp::Code(ASE_OK);
const SUCC: Exp = Exp::Code(ASE_SUCCESS);
const NP: Exp = Exp::Code(ASE_NOT_PRESENT);
const IM: Exp = Exp::Code(ASE_INVALID_MODE);
const SPNA: Exp = Exp::Code(ASE_SP_NOT_ADVANCING);
const UNSUP: Exp = Exp::Unsupported;
const TRUE: Exp = Exp::True;
const FALSE: Exp = Exp::False;
const VOID: Exp = Exp::Void;

impl Exp {
    fn short(self) -> String {
        match self {
            Self::Code(ASE_OK) => "OK".to_owned(),
            Self::Code(ASE_SUCCESS) => "SUCCESS".to_owned(),
            Self::Code(c) => error_name(c).map_or_else(
                || format!("code {c}"),
                |n| n.trim_start_matches("ASE_").to_owned(),
            ),
            Self::Unsupported => "NotPresent(q)".to_owned(),
            Self::True => "TRUE".to_owned(),
            Self::False => "FALSE".to_owned(),
            Self::Void => "-".to_owned(),
        }
    }

    /// Whether an observed result satisfies this expectation.
    fn accepts(self, got: Exp) -> bool {
        match self {
            Self::Unsupported => got == Self::Code(ASE_NOT_PRESENT),
            _ => got == self,
        }
    }

    /// Whether the call must leave an error message.
    fn needs_message(self) -> bool {
        match self {
            Self::Code(c) => c != ASE_OK && c != ASE_SUCCESS,
            Self::False => true,
            Self::Unsupported | Self::True | Self::Void => false,
        }
    }
}

/// The whole matrix: every method (rows) in every state (columns, in the
/// order of [`STATES`]), with the result the engine's state machine gives.
///
/// Derivation (engine.rs / object.rs): before a successful `init` every
/// engine call fails `NotInitialized` → `ASE_NotPresent`; `start` needs
/// idle buffers, `stop` needs streaming, `createBuffers` needs none,
/// `disposeBuffers` needs some (and stops first if streaming), all else →
/// `ASE_InvalidMode`; `getSamplePosition` needs streaming, else
/// `ASE_SPNotAdvancing`; `controlPanel` is `ASE_NotPresent` in this
/// version; `future` answers `ASE_SUCCESS` for its three selectors once
/// initialized and a quiet `ASE_NotPresent` for any other; `outputReady` is
/// `ASE_OK` whenever initialized (hosts probe it). `setSampleRate(44.1k)`
/// while streaming is accepted because this host handles
/// `kAsioResetRequest` (checked separately for a host that does not).
#[rustfmt::skip]
const MATRIX: &[(Call, [Exp; 7])] = &[
    //                                                   Loaded InitFailed Initialized Prepared Running Stopped Disposed
    (Call::Init,                                        [TRUE,  FALSE,     TRUE,       TRUE,    TRUE,   TRUE,   TRUE ]),
    (Call::GetDriverName,                               [VOID,  VOID,      VOID,       VOID,    VOID,   VOID,   VOID ]),
    (Call::GetDriverVersion,                            [VOID,  VOID,      VOID,       VOID,    VOID,   VOID,   VOID ]),
    (Call::GetErrorMessage,                             [VOID,  VOID,      VOID,       VOID,    VOID,   VOID,   VOID ]),
    (Call::Start,                                       [NP,    NP,        IM,         OK,      IM,     OK,     IM   ]),
    (Call::Stop,                                        [NP,    NP,        IM,         IM,      OK,     IM,     IM   ]),
    (Call::GetChannels,                                 [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::GetLatencies,                                [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::GetBufferSize,                               [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::CanSampleRate,                               [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::GetSampleRate,                               [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::SetSampleRateSame,                           [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::SetSampleRateOther,                          [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::GetClockSources,                             [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::SetClockSource,                              [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::GetSamplePosition,                           [NP,    NP,        SPNA,       SPNA,    OK,     SPNA,   SPNA ]),
    (Call::GetChannelInfo,                              [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
    (Call::CreateBuffers,                               [NP,    NP,        OK,         IM,      IM,     IM,     OK   ]),
    (Call::DisposeBuffers,                              [NP,    NP,        IM,         OK,      OK,     OK,     IM   ]),
    (Call::ControlPanel,                                [NP,    NP,        NP,         NP,      NP,     NP,     NP   ]),
    (Call::Future(future::CAN_REPORT_OVERLOAD),         [NP,    NP,        SUCC,       SUCC,    SUCC,   SUCC,   SUCC ]),
    (Call::Future(future::GET_INTERNAL_BUFFER_SAMPLES), [NP,    NP,        SUCC,       SUCC,    SUCC,   SUCC,   SUCC ]),
    (Call::Future(future::CAN_TIME_INFO),               [NP,    NP,        SUCC,       SUCC,    SUCC,   SUCC,   SUCC ]),
    (Call::Future(future::CAN_TIME_CODE),               [UNSUP, UNSUP,     UNSUP,      UNSUP,   UNSUP,  UNSUP,  UNSUP]),
    (Call::Future(future::ENABLE_TIME_CODE_READ),       [UNSUP, UNSUP,     UNSUP,      UNSUP,   UNSUP,  UNSUP,  UNSUP]),
    (Call::Future(future::CAN_INPUT_MONITOR),           [UNSUP, UNSUP,     UNSUP,      UNSUP,   UNSUP,  UNSUP,  UNSUP]),
    (Call::Future(future::CAN_DO_IO_FORMAT),            [UNSUP, UNSUP,     UNSUP,      UNSUP,   UNSUP,  UNSUP,  UNSUP]),
    (Call::Future(0),                                   [UNSUP, UNSUP,     UNSUP,      UNSUP,   UNSUP,  UNSUP,  UNSUP]),
    (Call::Future(UNKNOWN_SELECTOR),                    [UNSUP, UNSUP,     UNSUP,      UNSUP,   UNSUP,  UNSUP,  UNSUP]),
    (Call::OutputReady,                                 [NP,    NP,        OK,         OK,      OK,     OK,     OK   ]),
];

/// The state class a call leaves the driver in, when it returns what the
/// matrix expects.
fn class_after(state: State, call: Call) -> Class {
    let class = state.class();
    match (state, call) {
        (State::Loaded, Call::Init) => Class::NoBuffers,
        (_, Call::Start) if class == Class::Idle => Class::Streaming,
        (_, Call::Stop) if class == Class::Streaming => Class::Idle,
        (_, Call::CreateBuffers) if class == Class::NoBuffers => Class::Idle,
        (_, Call::DisposeBuffers) if matches!(class, Class::Idle | Class::Streaming) => {
            Class::NoBuffers
        }
        _ => class,
    }
}

fn code(c: i32) -> Exp {
    Exp::Code(c)
}

/// Makes `call` on `rig` (in `state`) and checks the values returned on
/// success. Returns the observed result and any value problems.
fn perform(rig: &mut Rig, state: State, call: Call) -> (Exp, Vec<String>) {
    let mut notes = Vec::new();
    let class = state.class();
    let d = rig.driver.as_ref().expect("driver present");
    let got = match call {
        Call::Init => match vcall!(d, init, std::ptr::null_mut()) {
            ASIO_TRUE => Exp::True,
            ASIO_FALSE => Exp::False,
            other => {
                notes.push(format!(
                    "init returned {other}, neither ASIOTrue nor ASIOFalse"
                ));
                Exp::Code(other)
            }
        },
        Call::GetDriverName => {
            match driver_name(d) {
                Ok(name) if name == "Tenuto" => {}
                Ok(name) => notes.push(format!("driver name {name:?}, expected \"Tenuto\"")),
                Err(e) => notes.push(e),
            }
            Exp::Void
        }
        Call::GetDriverVersion => {
            let v = vcall!(d, get_driver_version);
            if v != 1 {
                notes.push(format!("driver version {v}, expected 1"));
            }
            Exp::Void
        }
        Call::GetErrorMessage => {
            if let Err(e) = error_message(d) {
                notes.push(e);
            }
            Exp::Void
        }
        Call::Start => {
            rig.begin_session();
            let d = rig.driver.as_ref().expect("driver present");
            code(vcall!(d, start))
        }
        Call::Stop => {
            let c = vcall!(d, stop);
            if c == ASE_OK {
                rig.end_session();
            }
            code(c)
        }
        Call::GetChannels => {
            let (mut i, mut o) = (-1, -1);
            let c = vcall!(d, get_channels, &mut i, &mut o);
            if c == ASE_OK && (i, o) != (2, 2) {
                notes.push(format!("getChannels gave ({i}, {o}), expected (2, 2)"));
            }
            code(c)
        }
        Call::GetLatencies => {
            let (mut i, mut o) = (-1, -1);
            let c = vcall!(d, get_latencies, &mut i, &mut o);
            if c == ASE_OK && (i <= 0 || o <= 0) {
                notes.push(format!("getLatencies gave ({i}, {o}), expected positive"));
            }
            code(c)
        }
        Call::GetBufferSize => {
            let (mut min, mut max, mut pref, mut gran) = (-1, -1, -1, -2);
            let c = vcall!(d, get_buffer_size, &mut min, &mut max, &mut pref, &mut gran);
            if c == ASE_OK && (min, max, pref, gran) != (16, 8192, 128, -1) {
                notes.push(format!(
                    "getBufferSize gave ({min}, {max}, {pref}, {gran}), expected (16, 8192, 128, -1)"
                ));
            }
            code(c)
        }
        Call::CanSampleRate => code(vcall!(d, can_sample_rate, RATE)),
        Call::GetSampleRate => {
            let mut r = f64::NAN;
            let c = vcall!(d, get_sample_rate, &mut r);
            if c == ASE_OK && r != RATE {
                notes.push(format!("getSampleRate gave {r}, expected {RATE}"));
            }
            code(c)
        }
        Call::SetSampleRateSame => code(vcall!(d, set_sample_rate, RATE)),
        Call::SetSampleRateOther => {
            let c = vcall!(d, set_sample_rate, OTHER_RATE);
            if c == ASE_OK && class == Class::Streaming {
                // Accepted while streaming only by asking for a reset, which the
                // driver's messenger delivers from its own thread after the call.
                let resets = || {
                    rig.session
                        .as_ref()
                        .map_or(0, |s| s.counters().reset_requests.load(Ordering::Acquire))
                };
                let asked = Instant::now();
                while resets() == 0 && asked.elapsed() < Duration::from_secs(5) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                if resets() == 0 {
                    notes.push(
                        "setSampleRate while streaming returned OK without kAsioResetRequest"
                            .to_owned(),
                    );
                }
            } else if c == ASE_OK {
                let mut r = f64::NAN;
                let c2 = vcall!(d, get_sample_rate, &mut r);
                if c2 != ASE_OK || r != OTHER_RATE {
                    notes.push(format!(
                        "after setSampleRate({OTHER_RATE}) getSampleRate gave {r} ({c2})"
                    ));
                }
            }
            code(c)
        }
        Call::GetClockSources => {
            let (c, n, first) = clock_sources(d, 4);
            let (index, current) = (first.index, first.is_current_source);
            if c == ASE_OK && (n != 1 || index != 0 || current != ASIO_TRUE) {
                notes.push(format!(
                    "getClockSources gave {n} sources, first index {index} current {current}"
                ));
            }
            code(c)
        }
        Call::SetClockSource => code(vcall!(d, set_clock_source, 0)),
        Call::GetSamplePosition => code(sample_position(d)),
        Call::GetChannelInfo => {
            let (c, ci) = channel_info(d, 0, false);
            if c == ASE_OK {
                let name: Vec<u8> = asio_abi::c_string_bytes(&ci.name).collect();
                let active = ci.is_active == ASIO_TRUE;
                let want_active = matches!(class, Class::Idle | Class::Streaming);
                if name != b"Virtual Out 1" || active != want_active {
                    notes.push(format!(
                        "getChannelInfo gave name {:?} active {active}, expected \"Virtual Out 1\" active {want_active}",
                        String::from_utf8_lossy(&name)
                    ));
                }
            }
            code(c)
        }
        Call::CreateBuffers => {
            // Bypasses the host library's session slot (one may be active);
            // these buffers are never started.
            let mut d = rig.driver.take().expect("driver present");
            let c = tenuto_host::create_buffers_again(&mut d, &ALL_CHANNELS, FRAMES);
            rig.driver = Some(d);
            code(c)
        }
        Call::DisposeBuffers => {
            let c = vcall!(d, dispose_buffers);
            if c == ASE_OK {
                rig.buffers_gone();
            }
            code(c)
        }
        Call::ControlPanel => code(vcall!(d, control_panel)),
        Call::Future(future::GET_INTERNAL_BUFFER_SAMPLES) => {
            let mut info = AsioInternalBufferInfo {
                input_samples: -1,
                output_samples: -1,
            };
            let c = vcall!(
                d,
                future,
                future::GET_INTERNAL_BUFFER_SAMPLES,
                (&mut info as *mut AsioInternalBufferInfo).cast()
            );
            let (i, o) = (info.input_samples, info.output_samples);
            if c == ASE_SUCCESS && (i < 0 || o < 0) {
                notes.push(format!("kAsioGetInternalBufferSamples gave ({i}, {o})"));
            }
            code(c)
        }
        Call::Future(selector) => code(vcall!(d, future, selector, std::ptr::null_mut())),
        Call::OutputReady => code(vcall!(d, output_ready)),
    };
    (got, notes)
}

/// Words that show a message is about `code`'s problem even when it does
/// not name the call.
fn problem_words(code: i32) -> &'static [&'static str] {
    match code {
        ASE_NOT_PRESENT => &["before init()", "no settings window"],
        ASE_INVALID_MODE => &["not allowed while"],
        ASE_SP_NOT_ADVANCING => &["not streaming"],
        ASE_NO_CLOCK => &[" Hz"],
        ASE_INVALID_PARAMETER => &["null", "is not", "numChannels", "bufferSize"],
        _ => &[],
    }
}

/// Checks an error message: present, fits the 124-byte buffer, and names
/// the call (`method`), the problem, or one of `extra` words.
fn message_problem(
    msg: &Result<String, String>,
    method: &str,
    code: i32,
    extra: &[&str],
) -> Option<String> {
    let msg = match msg {
        Ok(m) => m,
        Err(e) => return Some(e.clone()),
    };
    if msg.is_empty() {
        return Some("the error message is empty".to_owned());
    }
    if msg.len() > MAX_MESSAGE {
        return Some(format!(
            "the error message is {} bytes (> {MAX_MESSAGE})",
            msg.len()
        ));
    }
    let relevant = msg.contains(method)
        || problem_words(code).iter().any(|w| msg.contains(w))
        || extra.iter().any(|w| msg.contains(w));
    (!relevant)
        .then(|| format!("the error message {msg:?} names neither {method}() nor the problem"))
}

/// Result of one matrix cell.
struct Cell {
    expected: Exp,
    got: Exp,
    failures: Vec<String>,
}

/// Runs one cell on a fresh driver. `strict`: an error message must name
/// the very call the host made (not another one the driver made inside).
fn run_cell(state: State, call: Call, expected: Exp, strict: bool) -> Cell {
    let mut rig = state.establish();
    let mut failures = Vec::new();
    // The setup made only correct calls, so the message must be empty now
    // (except after the refused init): a message seen afterwards was set by
    // the call under test.
    let before = error_message(rig.d());
    if state != State::InitFailed && before.as_deref() != Ok("") {
        failures.push(format!("after setup the error message was {before:?}"));
    }
    let (got, notes) = perform(&mut rig, state, call);
    failures.extend(notes);
    if !expected.accepts(got) {
        failures.push(format!(
            "expected {}, got {}",
            expected.short(),
            got.short()
        ));
    }
    if expected == Exp::Unsupported {
        // A probe of an unsupported selector keeps the last real message.
        let after = error_message(rig.d());
        if after != before {
            failures.push(format!("the message changed from {before:?} to {after:?}"));
        }
    } else if got.needs_message() {
        let msg = error_message(rig.d());
        let c = match got {
            Exp::Code(c) => c,
            _ => ASE_NOT_PRESENT,
        };
        if let Some(p) = message_problem(&msg, call.method(), c, &["could not open"]) {
            failures.push(p);
        } else if strict && !matches!(call, Call::Init | Call::ControlPanel) {
            let named = format!("{}(", call.method());
            if !msg.as_deref().is_ok_and(|m| m.contains(&named)) {
                failures.push(format!("the error message {msg:?} does not name {named})"));
            }
        }
    }
    if expected.accepts(got) {
        let want = class_after(state, call);
        let now = probe(rig.d());
        if now != want {
            failures.push(format!("left the driver {now:?}, expected {want:?}"));
        }
    }
    drop(rig);
    Cell {
        expected,
        got,
        failures,
    }
}

fn render_matrix(cells: &[Vec<Cell>]) -> String {
    let mut out = String::new();
    let _ = write!(out, "{:<36}", "method \\ state");
    for s in STATES {
        let _ = write!(out, "{:<19}", s.label());
    }
    out.push('\n');
    for ((call, _), row) in MATRIX.iter().zip(cells) {
        let _ = write!(out, "{:<36}", call.label());
        for cell in row {
            let text = if cell.failures.is_empty() {
                cell.expected.short()
            } else if cell.expected.accepts(cell.got) {
                format!("!! {} (*)", cell.got.short())
            } else {
                format!("!! {}≠{}", cell.expected.short(), cell.got.short())
            };
            let _ = write!(out, "{text:<19}");
        }
        out.push('\n');
    }
    out.push_str("NotPresent(q): quiet, an unsupported future() selector needs no message\n");
    out
}

/// Runs the whole matrix; panics with the rendered matrix on any failure.
fn run_matrix(strict: bool) {
    let stray_before = tenuto_host::stray_callbacks();
    let live_before = tenuto_driver::live_objects();
    let mut cells = Vec::new();
    let mut failures = Vec::new();
    for &(call, row) in MATRIX {
        let mut out = Vec::new();
        for (state, expected) in STATES.into_iter().zip(row) {
            let cell = run_cell(state, call, expected, strict);
            for f in &cell.failures {
                failures.push(format!("{} in {}: {f}", call.label(), state.label()));
            }
            out.push(cell);
        }
        cells.push(out);
    }
    let stray = tenuto_host::stray_callbacks() - stray_before;
    if stray != 0 {
        failures.push(format!(
            "{stray} buffer switches arrived after stop() returned"
        ));
    }
    if tenuto_driver::live_objects() != live_before {
        failures.push("driver objects leaked".to_owned());
    }
    let n = MATRIX.len() * STATES.len();
    if !failures.is_empty() {
        panic!(
            "{} failures in {n} cells (expected results; !! want≠got, or (*) see below):\n{}\n{}",
            failures.len(),
            render_matrix(&cells),
            failures.join("\n")
        );
    }
    eprintln!("{n} cells passed:\n{}", render_matrix(&cells));
}

#[test]
fn every_method_in_every_state() {
    let _guard = begin("every_method_in_every_state");
    run_matrix(false);
}

/// Same matrix, but every state error message must name the call the host
/// made. Fails for `createBuffers` and `future(kAsioCanTimeInfo)` before
/// init, whose messages blame `getChannels()` / `getSampleRate()`.
#[test]
fn error_messages_name_the_call_the_host_made() {
    let _guard = begin("error_messages_name_the_call_the_host_made");
    run_matrix(true);
}

// ---------------------------------------------------------------------------
// Bad arguments in valid states
// ---------------------------------------------------------------------------

/// Asserts `got` is `want` and that the driver explains it.
fn assert_error(d: &Driver, what: &str, method: &str, got: i32, want: i32, extra: &[&str]) {
    assert_eq!(
        got,
        want,
        "{what}: expected {}, got {} (message {:?})",
        Exp::Code(want).short(),
        Exp::Code(got).short(),
        error_message(d)
    );
    if let Some(p) = message_problem(&error_message(d), method, got, extra) {
        panic!("{what}: {p}");
    }
}

fn initialized_rig() -> Rig {
    State::Initialized.establish()
}

/// One refused `createBuffers` call: what is wrong, the channel array,
/// `numChannels`, `bufferSize`, whether the callbacks table is null, and
/// words the message should contain (besides "createBuffers").
struct BadCreate {
    what: &'static str,
    channels: &'static [(bool, i32)],
    num: i32,
    frames: i32,
    null_callbacks: bool,
    words: &'static [&'static str],
}

const OUT0: &[(bool, i32)] = &[(false, 0)];

/// Every bad `createBuffers` in the initialized state → `ASE_InvalidParameter`.
/// The default device has 2 inputs and 2 outputs and offers the powers of
/// two from 16 to 8192 frames.
#[rustfmt::skip]
const BAD_CREATES: &[BadCreate] = &[
    BadCreate { what: "numChannels 0",               channels: &[],                                  num: 0,        frames: FRAMES,   null_callbacks: false, words: &["numChannels"] },
    BadCreate { what: "numChannels -1",              channels: OUT0,                                 num: -1,       frames: FRAMES,   null_callbacks: false, words: &["numChannels"] },
    BadCreate { what: "numChannels i32::MIN",        channels: OUT0,                                 num: i32::MIN, frames: FRAMES,   null_callbacks: false, words: &["numChannels"] },
    BadCreate { what: "numChannels 5 (device has 4)", channels: &ALL_CHANNELS,                       num: 5,        frames: FRAMES,   null_callbacks: false, words: &["numChannels"] },
    BadCreate { what: "numChannels 1000",            channels: OUT0,                                 num: 1000,     frames: FRAMES,   null_callbacks: false, words: &["numChannels"] },
    BadCreate { what: "output channel 2 (of 2)",     channels: &[(false, 2)],                        num: 1,        frames: FRAMES,   null_callbacks: false, words: &["channel 2"] },
    BadCreate { what: "input channel 2 (of 2)",      channels: &[(true, 2)],                         num: 1,        frames: FRAMES,   null_callbacks: false, words: &["channel 2"] },
    BadCreate { what: "output channel -1",           channels: &[(false, -1)],                       num: 1,        frames: FRAMES,   null_callbacks: false, words: &["channel -1"] },
    BadCreate { what: "input channel i32::MAX",      channels: &[(true, i32::MAX)],                  num: 1,        frames: FRAMES,   null_callbacks: false, words: &["channel"] },
    BadCreate { what: "output 0 twice",              channels: &[(false, 0), (false, 0)],            num: 2,        frames: FRAMES,   null_callbacks: false, words: &["both ask"] },
    BadCreate { what: "input 1 twice",               channels: &[(true, 1), (false, 0), (true, 1)],  num: 3,        frames: FRAMES,   null_callbacks: false, words: &["both ask"] },
    BadCreate { what: "bufferSize 0",                channels: OUT0,                                 num: 1,        frames: 0,        null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "bufferSize -1",               channels: OUT0,                                 num: 1,        frames: -1,       null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "bufferSize 1",                channels: OUT0,                                 num: 1,        frames: 1,        null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "bufferSize 31",               channels: OUT0,                                 num: 1,        frames: 31,       null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "bufferSize 100 (not 2^n)",    channels: OUT0,                                 num: 1,        frames: 100,      null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "bufferSize 8193",             channels: OUT0,                                 num: 1,        frames: 8193,     null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "bufferSize 16384",            channels: OUT0,                                 num: 1,        frames: 16384,    null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "bufferSize 100000",           channels: OUT0,                                 num: 1,        frames: 100_000,  null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "bufferSize i32::MIN",         channels: OUT0,                                 num: 1,        frames: i32::MIN, null_callbacks: false, words: &["bufferSize"] },
    BadCreate { what: "null callbacks table",        channels: OUT0,                                 num: 1,        frames: FRAMES,   null_callbacks: true,  words: &["callbacks", "null"] },
];

#[test]
fn create_buffers_rejects_bad_arguments() {
    let _guard = begin("create_buffers_rejects_bad_arguments");
    let cb = test_callbacks();
    let ip = ASE_INVALID_PARAMETER;
    let mut rig = initialized_rig();
    for c in BAD_CREATES {
        let callbacks = (!c.null_callbacks).then_some(&cb);
        let got = create_buffers_raw(rig.d(), c.channels, c.num, c.frames, callbacks);
        assert_error(rig.d(), c.what, "createBuffers", got, ip, c.words);
        assert_eq!(
            probe(rig.d()),
            Class::NoBuffers,
            "{}: buffers left behind",
            c.what
        );
        rig.assert_full_cycle(c.what);
    }
    // A callbacks table whose bufferSwitch is null.
    let got = tenuto_host::create_buffers_without_switch(rig.d(), FRAMES);
    assert_error(
        rig.d(),
        "null bufferSwitch",
        "createBuffers",
        got,
        ip,
        &["bufferSwitch"],
    );
    rig.assert_full_cycle("null bufferSwitch");
    // Valid sizes at the edges are accepted (the refusals above are not
    // a refusal of everything).
    for frames in [16, 8192] {
        let got = create_buffers_raw(rig.d(), OUT0, 1, frames, Some(&cb));
        assert_eq!(got, ASE_OK, "bufferSize {frames} must be accepted");
        assert_eq!(vcall!(rig.d(), dispose_buffers), ASE_OK);
    }
    drop(rig);
    assert_eq!(
        TEST_CALLBACKS.load(Ordering::Acquire),
        0,
        "a never-started buffer set called back"
    );
}

#[test]
fn create_buffers_rejects_a_channel_of_the_other_direction() {
    let _guard = begin("create_buffers_rejects_a_channel_of_the_other_direction");
    // 1 input, 3 outputs: output 2 exists, input 2 does not.
    let config = VirtualConfig {
        inputs: 1,
        outputs: 3,
        ..VirtualConfig::default()
    };
    let mut rig = Rig::new(config);
    assert!(rig.d().init());
    let cb = test_callbacks();
    for (what, channels) in [
        ("input 2 (an output index)", vec![(true, 2)]),
        ("input 1 (an output index)", vec![(false, 0), (true, 1)]),
    ] {
        let n = i32::try_from(channels.len()).expect("small");
        let got = create_buffers_raw(rig.d(), &channels, n, FRAMES, Some(&cb));
        assert_error(
            rig.d(),
            what,
            "createBuffers",
            got,
            ASE_INVALID_PARAMETER,
            &["input"],
        );
        assert_eq!(
            probe(rig.d()),
            Class::NoBuffers,
            "{what}: buffers left behind"
        );
    }
    let got = create_buffers_raw(rig.d(), &[(false, 2), (true, 0)], 2, FRAMES, Some(&cb));
    assert_eq!(got, ASE_OK, "output 2 + input 0 exist on this device");
    assert_eq!(vcall!(rig.d(), dispose_buffers), ASE_OK);
    assert_eq!(TEST_CALLBACKS.load(Ordering::Acquire), 0);
}

#[test]
fn channel_info_rejects_bad_channels() {
    let _guard = begin("channel_info_rejects_bad_channels");
    for state in [State::Initialized, State::Prepared, State::Running] {
        let mut rig = state.establish();
        for is_input in [true, false] {
            for channel in [-1, 2, 3, i32::MIN, i32::MAX] {
                let what = format!(
                    "{}: getChannelInfo({} {channel})",
                    state.label(),
                    if is_input { "input" } else { "output" }
                );
                let (got, _) = channel_info(rig.d(), channel, is_input);
                assert_error(
                    rig.d(),
                    &what,
                    "getChannelInfo",
                    got,
                    ASE_INVALID_PARAMETER,
                    &[],
                );
            }
            let (got, _) = channel_info(rig.d(), 1, is_input);
            assert_eq!(got, ASE_OK, "{}: channel 1 exists", state.label());
        }
        assert_eq!(
            probe(rig.d()),
            state.class(),
            "{}: state changed",
            state.label()
        );
    }
    let mut rig = initialized_rig();
    rig.assert_full_cycle("bad getChannelInfo calls");
}

#[test]
fn clock_source_rejects_bad_index() {
    let _guard = begin("clock_source_rejects_bad_index");
    for state in [State::Initialized, State::Prepared, State::Running] {
        let mut rig = state.establish();
        for index in [1, -1, 2, i32::MIN, i32::MAX] {
            let what = format!("{}: setClockSource({index})", state.label());
            let got = vcall!(rig.d(), set_clock_source, index);
            assert_error(
                rig.d(),
                &what,
                "setClockSource",
                got,
                ASE_INVALID_PARAMETER,
                &["clock source"],
            );
        }
        for capacity in [0, -1, i32::MIN] {
            let what = format!("{}: getClockSources(numSources {capacity})", state.label());
            let (got, _, _) = clock_sources(rig.d(), capacity);
            assert_error(
                rig.d(),
                &what,
                "getClockSources",
                got,
                ASE_INVALID_PARAMETER,
                &["numSources"],
            );
        }
        assert_eq!(vcall!(rig.d(), set_clock_source, 0), ASE_OK);
        assert_eq!(
            probe(rig.d()),
            state.class(),
            "{}: state changed",
            state.label()
        );
    }
    let mut rig = initialized_rig();
    rig.assert_full_cycle("bad clock source calls");
}

/// Rates no device runs at. 1e300 and the smallest subnormal are left to
/// [`huge_and_tiny_sample_rates_are_explained`]: their message is the only
/// part that is wrong.
const BAD_RATES: [f64; 9] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    -48_000.0,
    12_345.0,
    1_536_001.0,
    48_000.5,
];

fn check_bad_rates(rig: &mut Rig, state: State, rates: &[f64], check_words: bool) {
    for &rate in rates {
        for method in ["canSampleRate", "setSampleRate"] {
            let what = format!("{}: {method}({rate:e})", state.label());
            let got = if method == "canSampleRate" {
                vcall!(rig.d(), can_sample_rate, rate)
            } else {
                vcall!(rig.d(), set_sample_rate, rate)
            };
            if check_words {
                assert_error(rig.d(), &what, method, got, ASE_NO_CLOCK, &["sample rate"]);
            } else {
                assert_eq!(got, ASE_NO_CLOCK, "{what}");
                let msg = error_message(rig.d());
                let m = msg.as_deref().unwrap_or("");
                assert!(
                    !m.is_empty() && m.len() <= MAX_MESSAGE,
                    "{what}: message {msg:?}"
                );
            }
            let mut r = f64::NAN;
            assert_eq!(vcall!(rig.d(), get_sample_rate, &mut r), ASE_OK);
            assert_eq!(r, RATE, "{what} changed the sample rate");
        }
    }
}

#[test]
fn sample_rate_rejects_bad_values() {
    let _guard = begin("sample_rate_rejects_bad_values");
    for state in [State::Initialized, State::Prepared, State::Running] {
        let mut rig = state.establish();
        check_bad_rates(&mut rig, state, &BAD_RATES, true);
        check_bad_rates(&mut rig, state, &[1e300, f64::MAX, 5e-324], false);
        assert_eq!(
            probe(rig.d()),
            state.class(),
            "{}: state changed",
            state.label()
        );
        if state == State::Running {
            assert!(
                rig.wait_for_switches(2),
                "streaming stalled after bad rates"
            );
        }
    }
    let mut rig = initialized_rig();
    check_bad_rates(&mut rig, State::Initialized, &BAD_RATES, true);
    rig.assert_full_cycle("bad sample rates");
}

#[test]
fn huge_and_tiny_sample_rates_are_explained() {
    let _guard = begin("huge_and_tiny_sample_rates_are_explained");
    let mut rig = initialized_rig();
    check_bad_rates(
        &mut rig,
        State::Initialized,
        &[1e300, f64::MAX, 5e-324],
        true,
    );
}

#[test]
fn set_sample_rate_while_streaming_needs_reset_support() {
    let _guard = begin("set_sample_rate_while_streaming_needs_reset_support");
    let mut rig = initialized_rig();
    let options = HostOptions {
        reset_request: false,
        ..HostOptions::default()
    };
    rig.create_with(&ALL_CHANNELS, FRAMES, options)
        .expect("createBuffers");
    rig.start().expect("start");
    let got = vcall!(rig.d(), set_sample_rate, OTHER_RATE);
    assert_error(
        rig.d(),
        "setSampleRate(44.1k) while streaming, no reset support",
        "setSampleRate",
        got,
        ASE_INVALID_MODE,
        &[],
    );
    let mut r = f64::NAN;
    assert_eq!(vcall!(rig.d(), get_sample_rate, &mut r), ASE_OK);
    assert_eq!(r, RATE);
    assert!(rig.wait_for_switches(2), "streaming stalled");
    rig.stop().expect("stop");
    rig.dispose().expect("disposeBuffers");
    rig.assert_full_cycle("refused setSampleRate while streaming");
}

// ---------------------------------------------------------------------------
// Null pointers
// ---------------------------------------------------------------------------

#[test]
fn null_pointers_in_every_state() {
    let _guard = begin("null_pointers_in_every_state");
    let void = ["getDriverName(null)", "getErrorMessage(null)"];
    for state in STATES {
        let mut rig = state.establish();
        let before = error_message(rig.d());
        let results = tenuto_host::call_with_null_pointers(rig.d());
        assert_eq!(
            results.len(),
            11,
            "call_with_null_pointers changed; update this test"
        );
        for (what, got) in &results {
            if void.contains(what) {
                continue;
            }
            assert_eq!(
                *got,
                ASE_INVALID_PARAMETER,
                "{}: {what} returned {}",
                state.label(),
                Exp::Code(*got).short()
            );
        }
        // The last erroring call was future(kAsioGetInternalBufferSamples, null).
        let msg = error_message(rig.d());
        if let Some(p) = message_problem(&msg, "future", ASE_INVALID_PARAMETER, &[]) {
            panic!("{}: null pointers: {p}", state.label());
        }
        assert!(
            msg.as_deref().is_ok_and(|m| m.contains("null")),
            "{}: the message {msg:?} does not say a pointer was null (before: {before:?})",
            state.label()
        );
        // Each null call individually explains itself.
        let mut i = 0;
        let got = vcall!(rig.d(), get_channels, &mut i, std::ptr::null_mut());
        assert_error(
            rig.d(),
            "getChannels(&i, null)",
            "getChannels",
            got,
            ASE_INVALID_PARAMETER,
            &[],
        );
        let mut o = 0;
        let got = vcall!(rig.d(), get_latencies, std::ptr::null_mut(), &mut o);
        assert_error(
            rig.d(),
            "getLatencies(null, &o)",
            "getLatencies",
            got,
            ASE_INVALID_PARAMETER,
            &[],
        );
        let mut pos = AsioSamples::default();
        let got = vcall!(rig.d(), get_sample_position, &mut pos, std::ptr::null_mut());
        assert_error(
            rig.d(),
            "getSamplePosition(&p, null)",
            "getSamplePosition",
            got,
            ASE_INVALID_PARAMETER,
            &[],
        );
        let mut infos = infos_for(&[(false, 0)]);
        let got = vcall!(
            rig.d(),
            create_buffers,
            infos.as_mut_ptr(),
            1,
            FRAMES,
            std::ptr::null()
        );
        assert_error(
            rig.d(),
            "createBuffers(callbacks null)",
            "createBuffers",
            got,
            ASE_INVALID_PARAMETER,
            &[],
        );
        assert_eq!(
            probe(rig.d()),
            state.class(),
            "{}: state changed",
            state.label()
        );
        if state == State::Running {
            assert!(
                rig.wait_for_switches(2),
                "streaming stalled after null pointers"
            );
        }
        if matches!(state, State::Initialized | State::Disposed) {
            rig.assert_full_cycle("null pointers");
        }
    }
}

#[test]
fn null_object_pointer() {
    let _guard = begin("null_object_pointer");
    for state in [State::Loaded, State::Initialized, State::Running] {
        let mut rig = state.establish();
        let results = tenuto_host::call_with_null_object(tenuto_host::vtbl_of(rig.d()));
        for (what, got) in &results {
            match *what {
                "init" => assert_eq!(*got, ASIO_FALSE, "init(null this) must be ASIOFalse"),
                "AddRef" | "Release" => assert_eq!(*got, 0, "{what}(null this) must be 0"),
                _ => assert!(
                    *got != ASE_OK && *got != ASE_SUCCESS && error_name(*got).is_some(),
                    "{what}(null this) returned {got}, not an ASIO error"
                ),
            }
        }
        assert!(
            results
                .iter()
                .filter(|(w, _)| !matches!(*w, "init" | "AddRef" | "Release"))
                .all(|(_, c)| *c == ASE_HW_MALFUNCTION),
            "null this: {results:?}"
        );
        assert_eq!(
            probe(rig.d()),
            state.class(),
            "{}: state changed",
            state.label()
        );
        if state == State::Initialized {
            rig.assert_full_cycle("calls with a null object");
        }
    }
}

// ---------------------------------------------------------------------------
// Release while streaming; wrong-order stop/dispose loops
// ---------------------------------------------------------------------------

#[test]
fn release_while_streaming() {
    let _guard = begin("release_while_streaming");
    let live_before = tenuto_driver::live_objects();
    for round in 0..5 {
        let mut rig = State::Running.establish();
        assert!(rig.wait_for_switches(3), "round {round}: no switches");
        let stray = tenuto_host::stray_callbacks();
        let t = Instant::now();
        drop(rig.driver.take()); // the host's last Release, mid-stream
        let took = t.elapsed();
        rig.end_session();
        let switches = rig.switches();
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            took < Duration::from_secs(1),
            "round {round}: Release while streaming took {took:?}"
        );
        assert_eq!(
            rig.switches(),
            switches,
            "round {round}: a switch arrived after Release"
        );
        assert_eq!(
            tenuto_host::stray_callbacks(),
            stray,
            "round {round}: a callback arrived after Release returned"
        );
        drop(rig);
    }
    assert_eq!(
        tenuto_driver::live_objects(),
        live_before,
        "driver objects leaked"
    );
    // Releasing a driver that has buffers but never started also works.
    let mut rig = State::Prepared.establish();
    drop(rig.driver.take());
    drop(rig);
    assert_eq!(
        tenuto_driver::live_objects(),
        live_before,
        "driver objects leaked"
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Start,
    Stop,
    Dispose,
    Position,
    OutputReady,
    Init,
}

const OPS: [Op; 7] = [
    Op::Stop,
    Op::Dispose,
    Op::Start,
    Op::Create,
    Op::Position,
    Op::OutputReady,
    Op::Init,
];

/// Random call orders against a model of the state machine: every result
/// must be the model's, every error explained, and nothing may hang.
#[test]
fn stop_and_dispose_in_any_order_never_hang() {
    let _guard = begin("stop_and_dispose_in_any_order_never_hang");
    let stray_before = tenuto_host::stray_callbacks();

    // Plain repetition of wrong calls, before init and without buffers.
    for state in [State::Loaded, State::Initialized] {
        let mut rig = state.establish();
        let want = if state == State::Loaded { NP } else { IM };
        for i in 0..2000 {
            let (s, d) = (vcall!(rig.d(), stop), vcall!(rig.d(), dispose_buffers));
            assert!(
                want.accepts(code(s)) && want.accepts(code(d)),
                "{} round {i}: stop {s}, dispose {d}",
                state.label()
            );
        }
        if let Some(p) = message_problem(
            &error_message(rig.d()),
            "disposeBuffers",
            code_of(want),
            &[],
        ) {
            panic!("{}: {p}", state.label());
        }
    }

    // Random sequences against the model.
    let mut rig = initialized_rig();
    let mut model = Class::NoBuffers;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut history: Vec<Op> = Vec::new();
    for step in 0..600 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let op = OPS[usize::try_from((seed >> 33) % OPS.len() as u64).expect("small")];
        history.push(op);
        let (got, want, next) = match op {
            Op::Create => {
                if model == Class::NoBuffers {
                    let r = rig.create();
                    (r.err().map_or(ASE_OK, |e| e.code), ASE_OK, Class::Idle)
                } else {
                    let c = tenuto_host::create_buffers_again(rig.d(), &ALL_CHANNELS, FRAMES);
                    (c, ASE_INVALID_MODE, model)
                }
            }
            Op::Start => {
                let r = rig.start().err().map_or(ASE_OK, |e| e.code);
                match model {
                    Class::Idle => (r, ASE_OK, Class::Streaming),
                    _ => (r, ASE_INVALID_MODE, model),
                }
            }
            Op::Stop => {
                let r = rig.stop().err().map_or(ASE_OK, |e| e.code);
                match model {
                    Class::Streaming => (r, ASE_OK, Class::Idle),
                    _ => (r, ASE_INVALID_MODE, model),
                }
            }
            Op::Dispose => {
                let r = rig.dispose().err().map_or(ASE_OK, |e| e.code);
                match model {
                    Class::Idle | Class::Streaming => (r, ASE_OK, Class::NoBuffers),
                    _ => (r, ASE_INVALID_MODE, model),
                }
            }
            Op::Position => {
                let c = sample_position(rig.d());
                let want = if model == Class::Streaming {
                    ASE_OK
                } else {
                    ASE_SP_NOT_ADVANCING
                };
                (c, want, model)
            }
            Op::OutputReady => (vcall!(rig.d(), output_ready), ASE_OK, model),
            Op::Init => {
                let ok = rig.d().init();
                (if ok { ASE_OK } else { ASE_NOT_PRESENT }, ASE_OK, model)
            }
        };
        let tail: Vec<Op> = history.iter().rev().take(8).rev().copied().collect();
        assert_eq!(
            got,
            want,
            "step {step} {op:?} in {model:?}: got {}, expected {} (last ops {tail:?}, message {:?})",
            code(got).short(),
            code(want).short(),
            error_message(rig.d())
        );
        if got != ASE_OK {
            let method = match op {
                Op::Create => "createBuffers",
                Op::Start => "start",
                Op::Stop => "stop",
                Op::Dispose => "disposeBuffers",
                Op::Position => "getSamplePosition",
                _ => "",
            };
            if let Some(p) = message_problem(&error_message(rig.d()), method, got, &[]) {
                panic!("step {step} {op:?} in {model:?}: {p}");
            }
        }
        model = next;
        assert_eq!(
            probe(rig.d()),
            model,
            "step {step} {op:?}: state differs from the model"
        );
    }
    drop(rig);
    assert_eq!(
        tenuto_host::stray_callbacks(),
        stray_before,
        "a buffer switch arrived after stop() returned"
    );
}

fn code_of(e: Exp) -> i32 {
    match e {
        Exp::Code(c) => c,
        _ => ASE_NOT_PRESENT,
    }
}
