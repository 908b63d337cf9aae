//! The driver object's safe half: the engine behind its lock, plus the
//! lock-free status, and the few operations that must release the lock
//! while they wait (stop, dispose, shutdown).

use std::sync::Arc;

use tenuto_engine::shared::Shared;
use tenuto_engine::sync::Mutex;
use tenuto_engine::{Engine, EngineError};

/// The engine as the vtable sees it.
pub struct DriverCore {
    engine: Mutex<Engine>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DriverCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverCore").finish_non_exhaustive()
    }
}

impl DriverCore {
    /// Wraps an engine.
    pub fn new(engine: Engine) -> Self {
        let shared = Arc::clone(engine.shared());
        Self {
            engine: Mutex::new(engine),
            shared,
        }
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
