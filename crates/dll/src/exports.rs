//! The DLL's exported entry points.
//!
//! # Safety invariant
//! Windows calls these with the arguments the COM and loader contracts
//! define: `DllMain` with this module's handle; `DllGetClassObject` with a
//! CLSID pointer, an IID pointer and an out-pointer, each either null
//! (rejected) or valid. Nothing here unwinds into the caller: every body
//! runs inside `catch_unwind`. `DllMain` does nothing but store the handle
//! (the loader lock forbids more).

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, Ordering};

use asio_abi::Guid;
use windows_sys::core::{BOOL, GUID, HRESULT};
use windows_sys::Win32::Foundation::{
    CLASS_E_CLASSNOTAVAILABLE, E_ACCESSDENIED, E_FAIL, E_POINTER, E_UNEXPECTED, HINSTANCE, S_FALSE,
    S_OK,
};
use windows_sys::Win32::System::LibraryLoader::GetModuleFileNameW;
use windows_sys::Win32::System::SystemServices::DLL_PROCESS_ATTACH;

use crate::factory;
use crate::registry::{self, RegistryError};

static MODULE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());

fn guid(g: &GUID) -> Guid {
    Guid {
        data1: g.data1,
        data2: g.data2,
        data3: g.data3,
        data4: g.data4,
    }
}

/// The full path of this DLL, from the handle `DllMain` stored.
pub(crate) fn module_path() -> Option<std::path::PathBuf> {
    let module = MODULE.load(Ordering::Acquire);
    if module.is_null() {
        return None;
    }
    let mut buf = vec![0u16; 32_768];
    // SAFETY: `module` is this DLL's handle (stored by DllMain); the buffer
    // is writable for its stated length.
    let n = unsafe { GetModuleFileNameW(module, buf.as_mut_ptr(), buf.len() as u32) } as usize;
    if n == 0 || n >= buf.len() {
        return None;
    }
    buf.truncate(n);
    Some(std::path::PathBuf::from(String::from_utf16_lossy(&buf)))
}

/// Loader entry point: remembers the module handle for registration.
#[no_mangle]
pub extern "system" fn DllMain(module: HINSTANCE, reason: u32, _reserved: *mut c_void) -> BOOL {
    if reason == DLL_PROCESS_ATTACH {
        MODULE.store(module, Ordering::Release);
    }
    1
}

/// COM asks for the class factory of `rclsid`.
///
/// # Safety
/// Called by COM with valid or null pointers (module invariant).
#[no_mangle]
pub unsafe extern "system" fn DllGetClassObject(
    rclsid: *const GUID,
    riid: *const GUID,
    ppv: *mut *mut c_void,
) -> HRESULT {
    catch_unwind(AssertUnwindSafe(|| {
        if ppv.is_null() {
            return E_POINTER;
        }
        // SAFETY: non-null out-pointer from COM.
        unsafe { ppv.write(std::ptr::null_mut()) };
        // SAFETY: COM passes valid GUID pointers or null.
        let (Some(clsid), Some(iid)) = (unsafe { rclsid.as_ref() }, unsafe { riid.as_ref() })
        else {
            return E_POINTER;
        };
        if guid(clsid) != crate::CLSID_TENUTO {
            return CLASS_E_CLASSNOTAVAILABLE;
        }
        factory::query(guid(iid), ppv)
    }))
    .unwrap_or(E_UNEXPECTED)
}

/// COM asks whether the DLL may be unloaded: only when no driver object,
/// factory reference or server lock is alive.
#[no_mangle]
pub extern "system" fn DllCanUnloadNow() -> HRESULT {
    if tenuto_driver::live_objects() == 0 && factory::locks() == 0 {
        S_OK
    } else {
        S_FALSE
    }
}

fn hresult(e: &RegistryError) -> HRESULT {
    match e {
        RegistryError::AccessDenied { .. } => E_ACCESSDENIED,
        _ => E_FAIL,
    }
}

/// `regsvr32 tenuto.dll`: writes the COM and ASIO registry entries.
#[no_mangle]
pub extern "system" fn DllRegisterServer() -> HRESULT {
    catch_unwind(|| match module_path() {
        Some(path) => match registry::register(&path) {
            Ok(_) => S_OK,
            Err(e) => hresult(&e),
        },
        None => E_UNEXPECTED,
    })
    .unwrap_or(E_UNEXPECTED)
}

/// `regsvr32 /u tenuto.dll`: removes exactly what registration added.
#[no_mangle]
pub extern "system" fn DllUnregisterServer() -> HRESULT {
    catch_unwind(|| match registry::unregister() {
        Ok(_) => S_OK,
        Err(e) => hresult(&e),
    })
    .unwrap_or(E_UNEXPECTED)
}
