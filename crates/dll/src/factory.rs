//! The class factory COM asks for in `DllGetClassObject`.
//!
//! # Safety invariant
//! There is one factory, a `static` that lives as long as the DLL; its
//! reference count only keeps the DLL loaded (`DllCanUnloadNow`). Its
//! vtable functions are called by COM with `this` = that static and with
//! valid or null pointers (null ones are rejected before use).

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use asio_abi::{Guid, IID_ICLASSFACTORY, IID_IUNKNOWN};
use windows_sys::core::{BOOL, HRESULT};
use windows_sys::Win32::Foundation::{
    CLASS_E_NOAGGREGATION, E_NOINTERFACE, E_POINTER, E_UNEXPECTED, S_OK,
};

#[repr(C)]
struct ClassFactoryVtbl {
    query_interface:
        unsafe extern "system" fn(*mut ClassFactory, *const Guid, *mut *mut c_void) -> HRESULT,
    add_ref: unsafe extern "system" fn(*mut ClassFactory) -> u32,
    release: unsafe extern "system" fn(*mut ClassFactory) -> u32,
    create_instance: unsafe extern "system" fn(
        *mut ClassFactory,
        *mut c_void,
        *const Guid,
        *mut *mut c_void,
    ) -> HRESULT,
    lock_server: unsafe extern "system" fn(*mut ClassFactory, BOOL) -> HRESULT,
}

#[repr(C)]
struct ClassFactory {
    vtbl: &'static ClassFactoryVtbl,
}

static VTBL: ClassFactoryVtbl = ClassFactoryVtbl {
    query_interface,
    add_ref,
    release,
    create_instance,
    lock_server,
};

static FACTORY: ClassFactory = ClassFactory { vtbl: &VTBL };

/// Factory references plus `LockServer` locks held by clients.
static LOCKS: AtomicUsize = AtomicUsize::new(0);

/// What keeps the DLL loaded apart from live driver objects.
pub(crate) fn locks() -> usize {
    LOCKS.load(Ordering::Acquire)
}

fn factory_ptr() -> *mut ClassFactory {
    std::ptr::addr_of!(FACTORY).cast_mut()
}

/// Answers `DllGetClassObject` for our CLSID.
pub(crate) fn query(iid: Guid, ppv: *mut *mut c_void) -> HRESULT {
    if iid == IID_IUNKNOWN || iid == IID_ICLASSFACTORY {
        LOCKS.fetch_add(1, Ordering::AcqRel);
        // SAFETY: `ppv` was checked non-null by the caller.
        unsafe { ppv.write(factory_ptr().cast()) };
        S_OK
    } else {
        E_NOINTERFACE
    }
}

unsafe extern "system" fn query_interface(
    _this: *mut ClassFactory,
    riid: *const Guid,
    ppv: *mut *mut c_void,
) -> HRESULT {
    if ppv.is_null() {
        return E_POINTER;
    }
    // SAFETY: non-null out-pointer.
    unsafe { ppv.write(std::ptr::null_mut()) };
    // SAFETY: COM passes a valid GUID pointer or null.
    match unsafe { riid.as_ref() } {
        Some(iid) => query(*iid, ppv),
        None => E_POINTER,
    }
}

unsafe extern "system" fn add_ref(_this: *mut ClassFactory) -> u32 {
    (LOCKS.fetch_add(1, Ordering::AcqRel) + 1) as u32
}

unsafe extern "system" fn release(_this: *mut ClassFactory) -> u32 {
    let previous = LOCKS
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .unwrap_or(0);
    previous.saturating_sub(1) as u32
}

unsafe extern "system" fn lock_server(_this: *mut ClassFactory, lock: BOOL) -> HRESULT {
    if lock != 0 {
        LOCKS.fetch_add(1, Ordering::AcqRel);
    } else {
        let _ = LOCKS.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
    S_OK
}

static CLOCK: Once = Once::new();

/// Aligns the engine's clock with `timeGetTime()` once per process: hosts
/// compare ASIO time stamps with it. Waits for one tick of `timeGetTime` so
/// the alignment is exact to its resolution rather than off by up to a tick.
fn align_clock() {
    CLOCK.call_once(|| {
        use windows_sys::Win32::Media::timeGetTime;
        let start = std::time::Instant::now();
        // SAFETY: timeGetTime has no preconditions.
        let first = unsafe { timeGetTime() };
        let mut now = first;
        while now == first && start.elapsed() < std::time::Duration::from_millis(50) {
            std::hint::spin_loop();
            // SAFETY: as above.
            now = unsafe { timeGetTime() };
        }
        tenuto_engine::time::align_to(u64::from(now) * 1_000_000);
    });
}

unsafe extern "system" fn create_instance(
    _this: *mut ClassFactory,
    outer: *mut c_void,
    riid: *const Guid,
    ppv: *mut *mut c_void,
) -> HRESULT {
    catch_unwind(AssertUnwindSafe(|| {
        if ppv.is_null() {
            return E_POINTER;
        }
        // SAFETY: non-null out-pointer.
        unsafe { ppv.write(std::ptr::null_mut()) };
        if !outer.is_null() {
            return CLASS_E_NOAGGREGATION;
        }
        if riid.is_null() {
            return E_POINTER;
        }
        align_clock();
        let instance = crate::settings_glue::new_instance();
        let raw = instance.as_raw();
        // SAFETY: `raw` is a live driver object we hold a reference to; its
        // QueryInterface adds a reference for the caller on success.
        let hr = unsafe { ((*(*raw).vtbl).query_interface)(raw, riid, ppv) };
        // Our own reference goes; on success the caller's remains.
        drop(instance);
        hr
    }))
    .unwrap_or(E_UNEXPECTED)
}
