//! Loading a driver DLL straight from a file, as COM would but without the
//! registry, so that tests can load and unload it many times and watch the
//! process's handles and threads.
//!
//! # Safety invariant
//! A [`DllServer`] owns one `LoadLibraryW` reference to a module and frees
//! it exactly once on drop; the two function pointers it keeps were
//! resolved from that module with the signatures COM defines for
//! `DllGetClassObject` and `DllCanUnloadNow`, and are only called while the
//! module is loaded. The class factory pointer returned by
//! `DllGetClassObject` is used through the `IClassFactory` vtable layout and
//! released exactly once.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::{Path, PathBuf};

use asio_abi::{Guid, IID_ICLASSFACTORY};
use tenuto_win::to_wide;
use windows_sys::Win32::Foundation::{
    FreeLibrary, GetHandleInformation, HANDLE, HMODULE, INVALID_HANDLE_VALUE, S_OK,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress, LoadLibraryW};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentProcessId, GetProcessHandleCount,
};

type GetClassObjectFn =
    unsafe extern "system" fn(*const Guid, *const Guid, *mut *mut c_void) -> i32;
type CanUnloadNowFn = unsafe extern "system" fn() -> i32;

#[repr(C)]
struct ClassFactoryVtbl {
    query_interface: unsafe extern "system" fn(*mut c_void, *const Guid, *mut *mut c_void) -> i32,
    add_ref: unsafe extern "system" fn(*mut c_void) -> u32,
    release: unsafe extern "system" fn(*mut c_void) -> u32,
    create_instance:
        unsafe extern "system" fn(*mut c_void, *mut c_void, *const Guid, *mut *mut c_void) -> i32,
    lock_server: unsafe extern "system" fn(*mut c_void, i32) -> i32,
}

/// Why a DLL could not be loaded or asked for a driver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DllError {
    /// `LoadLibraryW` failed.
    #[error("could not load {path}: Windows error {code}")]
    Load {
        /// The DLL.
        path: String,
        /// `GetLastError()`.
        code: u32,
    },
    /// A COM export is missing.
    #[error("{path} does not export {symbol}; it is not a COM in-process server")]
    MissingExport {
        /// The DLL.
        path: String,
        /// The export.
        symbol: &'static str,
    },
    /// A COM call failed.
    #[error("{call} failed with HRESULT 0x{hresult:08X}")]
    Com {
        /// What was called.
        call: &'static str,
        /// Its result.
        hresult: u32,
    },
}

/// A driver DLL loaded with `LoadLibraryW`; freed on drop.
#[derive(Debug)]
pub struct DllServer {
    module: HMODULE,
    path: PathBuf,
    get_class_object: GetClassObjectFn,
    can_unload_now: CanUnloadNowFn,
}

impl DllServer {
    /// Loads the DLL at `path` and resolves its COM exports.
    pub fn load(path: &Path) -> Result<Self, DllError> {
        let shown = path.display().to_string();
        let wpath = to_wide(&shown);
        // SAFETY: NUL-terminated path.
        let module = unsafe { LoadLibraryW(wpath.as_ptr()) };
        if module.is_null() {
            // SAFETY: no preconditions.
            let code = unsafe { windows_sys::Win32::Foundation::GetLastError() };
            return Err(DllError::Load { path: shown, code });
        }
        let resolve = |symbol: &'static str| {
            let name: Vec<u8> = symbol.bytes().chain(std::iter::once(0)).collect();
            // SAFETY: live module, NUL-terminated ASCII name.
            unsafe { GetProcAddress(module, name.as_ptr()) }.ok_or(DllError::MissingExport {
                path: shown.clone(),
                symbol,
            })
        };
        let (gco, cun) = match (resolve("DllGetClassObject"), resolve("DllCanUnloadNow")) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                // SAFETY: we loaded it above and free it once.
                unsafe { FreeLibrary(module) };
                return Err(e);
            }
        };
        Ok(Self {
            module,
            path: path.to_path_buf(),
            // SAFETY: COM defines these exports with exactly these signatures.
            get_class_object: unsafe {
                std::mem::transmute::<unsafe extern "system" fn() -> isize, GetClassObjectFn>(gco)
            },
            // SAFETY: as above.
            can_unload_now: unsafe {
                std::mem::transmute::<unsafe extern "system" fn() -> isize, CanUnloadNowFn>(cun)
            },
        })
    }

    /// Creates the driver `clsid` through the DLL's class factory, asking
    /// for the CLSID as interface (the ASIO quirk), as `CoCreateInstance`
    /// would.
    pub fn create(&self, clsid: Guid) -> Result<crate::Driver, DllError> {
        let mut factory: *mut c_void = std::ptr::null_mut();
        // SAFETY: live module; valid GUID pointers and out-pointer.
        let hr = unsafe { (self.get_class_object)(&clsid, &IID_ICLASSFACTORY, &mut factory) };
        if hr != S_OK || factory.is_null() {
            return Err(DllError::Com {
                call: "DllGetClassObject",
                hresult: hr as u32,
            });
        }
        // SAFETY: a successful DllGetClassObject returned an IClassFactory.
        let vtbl = unsafe { &**(factory as *const *const ClassFactoryVtbl) };
        let mut object: *mut c_void = std::ptr::null_mut();
        // SAFETY: live factory; no aggregation; valid IID and out-pointer.
        let hr =
            unsafe { (vtbl.create_instance)(factory, std::ptr::null_mut(), &clsid, &mut object) };
        // SAFETY: we own the factory reference DllGetClassObject gave us.
        unsafe { (vtbl.release)(factory) };
        if hr != S_OK || object.is_null() {
            return Err(DllError::Com {
                call: "IClassFactory::CreateInstance",
                hresult: hr as u32,
            });
        }
        // SAFETY: a new IASIO object whose one reference we hand over.
        unsafe { crate::Driver::from_raw(object.cast()) }.ok_or(DllError::Com {
            call: "IClassFactory::CreateInstance",
            hresult: 0,
        })
    }

    /// `DllCanUnloadNow() == S_OK`.
    pub fn can_unload_now(&self) -> bool {
        // SAFETY: live module.
        unsafe { (self.can_unload_now)() == S_OK }
    }

    /// The path it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DllServer {
    fn drop(&mut self) {
        // SAFETY: the reference LoadLibraryW gave us, freed once.
        unsafe { FreeLibrary(self.module) };
    }
}

/// Whether a module with this path is loaded in the process.
pub fn is_loaded(path: &Path) -> bool {
    let wpath = to_wide(&path.display().to_string());
    // SAFETY: NUL-terminated path; no reference is taken.
    !unsafe { GetModuleHandleW(wpath.as_ptr()) }.is_null()
}

/// Open handles of this process. Uses `GetProcessHandleCount`; where that
/// reports nothing (Wine 8 does not implement it) it counts the handle
/// values below 2^18 that `GetHandleInformation` accepts.
pub fn process_handle_count() -> u32 {
    let mut n = 0u32;
    // SAFETY: pseudo-handle of the current process; valid out-pointer.
    let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut n) } != 0;
    if ok && n > 0 {
        return n;
    }
    let mut count = 0;
    let mut flags = 0u32;
    for value in (4usize..1 << 18).step_by(4) {
        // SAFETY: querying an arbitrary handle value is allowed; an invalid
        // one makes the call fail, nothing else.
        if unsafe { GetHandleInformation(value as HANDLE, &mut flags) } != 0 {
            count += 1;
        }
    }
    count
}

/// Threads of this process.
pub fn process_thread_count() -> usize {
    // SAFETY: no preconditions; the snapshot handle is closed below.
    let snap = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if snap == INVALID_HANDLE_VALUE {
        return 0;
    }
    // SAFETY: no preconditions.
    let me = unsafe { GetCurrentProcessId() };
    // SAFETY: THREADENTRY32 is plain data; zero is a valid bit pattern.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
    let mut count = 0;
    // SAFETY: live snapshot; `entry` has its size set.
    let mut more = unsafe { Thread32First(snap, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == me {
            count += 1;
        }
        // SAFETY: as above.
        more = unsafe { Thread32Next(snap, &mut entry) } != 0;
    }
    // SAFETY: the snapshot handle we opened.
    unsafe { windows_sys::Win32::Foundation::CloseHandle(snap) };
    count
}
