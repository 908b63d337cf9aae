//! The only lock type Tenuto uses (clippy's `disallowed-types` forbids the
//! standard ones elsewhere).
//!
//! It is a plain [`std::sync::Mutex`] that also counts any acquisition made
//! inside the driver thread's real-time section (see [`crate::rt`]). Nothing
//! on the streaming path locks; the counter is how tests prove it. A poisoned
//! lock is recovered rather than propagated: a panic that was already caught
//! at the FFI boundary must not make the driver unusable for the host.

#![allow(clippy::disallowed_types)]

use std::sync::MutexGuard;

/// A mutex whose use on the real-time thread is detected and counted.
#[derive(Debug, Default)]
pub struct Mutex<T>(std::sync::Mutex<T>);

impl<T> Mutex<T> {
    /// Wraps `value` in a new lock.
    pub const fn new(value: T) -> Self {
        Self(std::sync::Mutex::new(value))
    }

    /// Acquires the lock, blocking. Never call this on the driver thread.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if crate::rt::in_rt_section() {
            crate::rt::record_lock_violation();
        }
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// A one-way flag other threads can wait for: set once, never cleared.
///
/// The driver thread sets its stream's latch after its last call into the
/// host (outside the real-time section); the threads that need that stream
/// gone wait on it without holding the engine's lock.
#[derive(Debug, Default)]
pub struct Latch {
    set: Mutex<bool>,
    changed: std::sync::Condvar,
}

impl Latch {
    /// Sets the latch and wakes every waiter.
    pub fn set(&self) {
        *self.set.lock() = true;
        self.changed.notify_all();
    }

    /// Whether the latch is set.
    pub fn is_set(&self) -> bool {
        *self.set.lock()
    }

    /// Blocks until the latch is set.
    pub fn wait(&self) {
        let mut set = self.set.lock();
        while !*set {
            set = self
                .changed
                .wait(set)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}
