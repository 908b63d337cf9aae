//! The driver object's safe half: the engine behind its lock, plus the
//! lock-free status, and the few operations that must release the lock
//! while they wait (stop, dispose, shutdown).

use std::sync::Arc;

use tenuto_engine::host::{HostCallbacks, HostCaps};
use tenuto_engine::shared::Shared;
use tenuto_engine::sync::Mutex;
use tenuto_engine::{BufferPointers, BufferRequest, Engine, EngineError};

use crate::trace::Trace;

/// The engine as the vtable sees it.
pub struct DriverCore {
    engine: Mutex<Engine>,
    shared: Arc<Shared>,
    hooks: DriverHooks,
}

/// Opens the settings window for the driver whose status is given.
pub type ControlPanelHook = Box<dyn Fn(&Arc<Shared>) -> Result<(), String> + Send + Sync>;

/// What the shell around the driver object (the DLL) adds: things the
/// engine knows nothing about.
#[derive(Default)]
pub struct DriverHooks {
    /// Opens the settings window without blocking (`controlPanel`). `None`:
    /// the call answers `ASE_NotPresent`.
    pub control_panel: Option<ControlPanelHook>,
    /// A problem with the settings found when the object was created (a
    /// broken settings file): shown by `getErrorMessage` until another
    /// error replaces it.
    pub startup_message: Option<String>,
    /// Things that live exactly as long as the driver object (e.g. the
    /// settings watcher, whose drop stops and joins its thread). Dropped
    /// when the last reference is released, after the stream has stopped
    /// and before the engine is.
    pub attachments: Vec<Box<dyn std::any::Any + Send + Sync>>,
    /// The debug trace every IASIO call is recorded into (`logging.level =
    /// "debug"`); `None`: calls are not traced.
    pub trace: Option<Arc<Trace>>,
}

impl std::fmt::Debug for DriverHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverHooks")
            .field("control_panel", &self.control_panel.is_some())
            .field("startup_message", &self.startup_message)
            .field("attachments", &self.attachments.len())
            .field("trace", &self.trace)
            .finish()
    }
}

impl std::fmt::Debug for DriverCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverCore").finish_non_exhaustive()
    }
}

impl Drop for DriverCore {
    /// A host that releases the driver while streaming gets the stream stopped first; the
    /// attachments then go while the status is still alive, so the log can write the
    /// stream's summary. The engine itself is dropped with the remaining fields (its drop
    /// joins the messenger's thread).
    fn drop(&mut self) {
        self.shutdown();
        self.hooks.attachments.clear();
    }
}

impl DriverCore {
    /// Wraps an engine.
    pub fn new(engine: Engine) -> Self {
        Self::with_hooks(engine, DriverHooks::default())
    }

    /// Wraps an engine with the shell's hooks.
    pub fn with_hooks(mut engine: Engine, hooks: DriverHooks) -> Self {
        if let Some(message) = &hooks.startup_message {
            engine.set_notice(message.clone());
        }
        let shared = Arc::clone(engine.shared());
        Self {
            engine: Mutex::new(engine),
            shared,
            hooks,
        }
    }

    /// `controlPanel`: opens the settings window through the shell's hook.
    pub fn control_panel(&self) -> Result<(), EngineError> {
        match &self.hooks.control_panel {
            Some(open) => open(&self.shared).map_err(EngineError::Unsupported),
            None => Err(EngineError::Unsupported(
                "this Tenuto build has no settings window; use `tenuto config` or edit the settings file"
                    .to_owned(),
            )),
        }
    }

    /// The debug trace, when calls are traced.
    pub fn trace(&self) -> Option<&Trace> {
        self.hooks.trace.as_deref()
    }

    /// Lock-free status (sample position, latencies, counters).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Runs `f` with the engine locked.
    pub fn with_engine<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> R {
        f(&mut self.engine.lock())
    }

    /// Records an error found at the boundary and returns its ASIO code.
    pub fn fail(&self, e: &EngineError) -> i32 {
        self.engine.lock().record_error(e);
        e.asio_code()
    }

    /// Records a caught panic so that `getErrorMessage` explains it.
    pub fn record_panic(&self, call: &str, detail: &str) {
        let e = EngineError::Thread(format!(
            "was not involved, but {call}() failed inside Tenuto ({detail}); \
             the driver is still loaded — please report this"
        ));
        self.engine.lock().record_error(&e);
    }

    /// Runs `f` on the engine once no stopping stream's thread can still
    /// call the host, waiting for that thread *without* the lock (its last
    /// switch may call into the driver) — except on that thread itself,
    /// which cannot wait for itself (the engine knows and acts on it).
    fn settled<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> R {
        loop {
            let mut engine = self.engine.lock();
            match engine.stream_end_to_await() {
                Some(end) => {
                    drop(engine);
                    end.wait();
                }
                None => return f(&mut engine),
            }
        }
    }

    /// `start`, serialised behind any stop in progress.
    pub fn start(&self) -> Result<(), EngineError> {
        self.settled(Engine::start)
    }

    /// `setSampleRate`, serialised behind any stop in progress. A reset it
    /// asks for is delivered by the messenger, never under the lock.
    pub fn set_sample_rate(&self, rate: f64) -> Result<(), EngineError> {
        self.settled(|e| e.set_sample_rate(rate))
    }

    /// `createBuffers`: asks the host what it supports on the caller's
    /// thread *outside* the lock (a host may call the driver from
    /// `asioMessage`), then creates the buffers behind any stop in progress.
    pub fn create_buffers(
        &self,
        requests: &[BufferRequest],
        buffer_size: i32,
        host: HostCallbacks,
    ) -> Result<Vec<BufferPointers>, EngineError> {
        let caps = HostCaps::query(host.messages.as_ref());
        self.settled(|e| e.create_buffers_with_caps(requests, buffer_size, host, caps))
    }

    /// `stop`: signals the driver thread under the lock, waits for its last
    /// switch without the lock (the host's callback may call into the
    /// driver meanwhile), then takes its context back under the lock. On
    /// the driver thread itself (inside the switch) it returns at once.
    pub fn stop(&self) -> Result<(), EngineError> {
        let end = self.engine.lock().begin_stop()?;
        if let Some(end) = end {
            end.wait();
            self.engine.lock().finish_stop()?;
        }
        Ok(())
    }

    /// Tells a running stream to stop and waits, without the lock, until no
    /// stream's thread can call the host (unless the caller is that thread).
    fn stop_and_settle(&self) {
        self.settled(|e| {
            if e.is_running() {
                let _ = e.begin_stop();
            }
        });
        self.settled(|_| ());
    }

    /// `disposeBuffers`, stopping first if the host forgot to. Returns once
    /// neither the driver thread nor the messenger can call the host's
    /// callbacks for these buffers (at once from inside the switch: that
    /// switch is the last).
    pub fn dispose(&self) -> Result<(), EngineError> {
        loop {
            // Stopping a running stream from another thread leaves a thread
            // to wait for; the engine's dispose is called only when there is
            // none (or the caller is that thread), so it never waits under
            // the lock.
            let step = self.settled(|e| {
                if e.is_running() {
                    let _ = e.begin_stop();
                }
                match e.stream_end_to_await() {
                    Some(end) => Err(end),
                    None => Ok(e.dispose_buffers_deferred()),
                }
            });
            match step {
                Ok(disposed) => {
                    disposed?.wait();
                    return Ok(());
                }
                Err(end) => end.wait(),
            }
        }
    }

    /// Whether the caller is a thread the driver owns (the driver thread,
    /// inside the host's switch, or the messenger, inside its message
    /// handler): such a thread must not wait for the driver to end.
    pub fn on_driver_thread(&self) -> bool {
        self.engine.lock().on_driver_thread()
    }

    /// The last `Release` from a thread the driver owns: stops the stream
    /// (the switch in progress is the last) and stops messages, without
    /// waiting — the object is then never freed, because its threads cannot
    /// be joined from inside themselves.
    pub fn abandon(&self) {
        let mut engine = self.engine.lock();
        if engine.is_running() {
            let _ = engine.begin_stop();
        }
        let _ = engine.detach_messages();
    }

    /// Called on the last `Release`: no callback or message may outlive the
    /// object.
    pub fn shutdown(&self) {
        self.stop_and_settle();
        let in_flight = self.engine.lock().detach_messages();
        in_flight.wait();
    }
}
