//! The driver object's safe half: the engine behind its lock, plus the
//! lock-free status, and the few operations that must release the lock
//! while they wait (stop, dispose, shutdown).

use std::sync::Arc;

use tenuto_engine::shared::Shared;
use tenuto_engine::sync::Mutex;
use tenuto_engine::{Engine, EngineError};

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
    /// stream's summary. The engine itself is dropped with the remaining fields.
    fn drop(&mut self) {
        if self.engine.lock().is_running() {
            let _ = self.stop();
        }
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

    /// `stop`: signals the driver thread under the lock, joins it without
    /// the lock (the host's callback may call into the driver meanwhile),
    /// then takes its context back under the lock.
    pub fn stop(&self) -> Result<(), EngineError> {
        let pending = self.engine.lock().begin_stop()?;
        if let Some(pending) = pending {
            let joined = pending.join();
            self.engine.lock().finish_stop(joined)?;
        }
        Ok(())
    }

    /// `disposeBuffers`, stopping first (outside the lock) if the host
    /// forgot to.
    pub fn dispose(&self) -> Result<(), EngineError> {
        if self.engine.lock().is_running() {
            let _ = self.stop();
        }
        self.engine.lock().dispose_buffers()
    }

    /// Called on the last `Release`: no callback may outlive the object.
    pub fn shutdown(&self) {
        if self.engine.lock().is_running() {
            let _ = self.stop();
        }
    }
}
