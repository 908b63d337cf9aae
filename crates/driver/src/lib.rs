//! # tenuto-driver
//!
//! The Tenuto driver object: an `IASIO` COM object whose vtable calls into
//! [`tenuto_engine::Engine`]. It is a thin shell — every decision lives in
//! the engine — made of:
//!
//! * `object` — the object layout (vtable pointer first, as hosts that skip
//!   `QueryInterface` require), reference counting, and the 24 vtable
//!   functions, each behind one boundary helper that checks pointers,
//!   catches panics and maps errors to ASIO codes;
//! * `callbacks` — the host's C callbacks adapted to the engine's traits,
//!   including the `ASIOTime` block for `bufferSwitchTimeInfo`;
//! * [`core`] — the safe part: the engine behind its lock, and the calls that
//!   must release that lock while waiting for the driver thread;
//! * [`trace`] — the debug trace of every IASIO call (method, arguments,
//!   result, duration), recorded without blocking or allocating.
//!
//! On every OS the object can be created in-process ([`create_instance`]),
//! which is how `tenuto check --in-process` exercises the exact ABI path the
//! Windows DLL exports.
//!
//! ## Unsafe
//! Only `object` and `callbacks` contain `unsafe`; each states its invariant
//! at the top.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod callbacks;
pub mod core;
mod object;
pub mod trace;

use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use asio_abi::{Guid, IAsio};
use tenuto_engine::shared::Shared;
use tenuto_engine::Engine;

/// Tenuto's class id: `{8D1F5C3A-6E2B-4B7C-9A41-3C0F2E7D5B19}`.
pub const CLSID_TENUTO: Guid = Guid::from_u128(0x8d1f5c3a_6e2b_4b7c_9a41_3c0f2e7d5b19);

static LIVE_OBJECTS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn on_object_freed() {
    LIVE_OBJECTS.fetch_sub(1, Ordering::AcqRel);
}

/// Driver objects currently alive in this process (for `DllCanUnloadNow`
/// and leak tests).
pub fn live_objects() -> usize {
    LIVE_OBJECTS.load(Ordering::Acquire)
}

/// A driver object created in-process, holding one reference.
#[derive(Debug)]
pub struct DriverInstance {
    raw: NonNull<IAsio>,
    /// `None` only transiently inside `into_raw`.
    shared: Option<Arc<Shared>>,
}

impl DriverInstance {
    /// The object as `IASIO*`. The instance keeps its reference.
    pub fn as_raw(&self) -> *mut IAsio {
        self.raw.as_ptr()
    }

    /// Gives the reference away (e.g. to a host that will `Release` it).
    pub fn into_raw(mut self) -> NonNull<IAsio> {
        let raw = self.raw;
        drop(self.shared.take());
        std::mem::forget(self);
        raw
    }

    /// Lock-free status of the engine inside (counters, position).
    pub fn shared(&self) -> &Arc<Shared> {
        // Only `into_raw` empties it, and it consumes the instance.
        self.shared
            .as_ref()
            .unwrap_or_else(|| unreachable!("DriverInstance without its status"))
    }
}

impl Drop for DriverInstance {
    fn drop(&mut self) {
        let raw = self.raw.as_ptr();
        // SAFETY: `raw` is a live object we hold a reference to; its vtable
        // is ours and `release` is the COM Release.
        #[allow(unsafe_code)]
        unsafe {
            ((*(*raw).vtbl).release)(raw);
        }
    }
}

/// Creates a driver object around `engine`, with one reference.
pub fn create_instance(engine: Engine) -> DriverInstance {
    create_instance_with_hooks(engine, core::DriverHooks::default())
}

/// Creates a driver object with the shell's hooks (settings window,
/// start-up message), with one reference.
pub fn create_instance_with_hooks(engine: Engine, hooks: core::DriverHooks) -> DriverInstance {
    let shared = Arc::clone(engine.shared());
    LIVE_OBJECTS.fetch_add(1, Ordering::AcqRel);
    let raw = object::into_raw(core::DriverCore::with_hooks(engine, hooks), CLSID_TENUTO);
    DriverInstance {
        raw,
        shared: Some(shared),
    }
}
