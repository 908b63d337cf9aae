//! Named shared memory, seen as a slice of `AtomicU64`. The crate's only `unsafe`.
//!
//! **Invariant.** A [`Mapping`] hands out `&[AtomicU64]` over memory that (1) is mapped for
//! the mapping's whole lifetime — the view is unmapped only in `Drop`, after every borrow
//! of the slice ended —, (2) is 8-byte aligned (views start on a page boundary), (3) spans
//! at least `words × 8` bytes (the view is mapped with exactly that size, which fails when
//! the object is smaller), and (4) is only ever accessed through atomic operations, by this
//! process and by every other process (all of them run this crate's code), so there is no
//! data race on it even though other processes write it concurrently. A reader's view is
//! mapped read-only: it only loads. 64-bit atomic loads are plain loads on x86-64 and, on
//! i686 (whose targets have SSE2), one `movq` — never a locked `cmpxchg8b`, which would
//! write and fault on a read-only page.
//!
//! On Windows the memory is a named, paging-file-backed file mapping in the session's
//! `Local\` namespace: created zero-filled by the first `create`, gone when the last handle
//! to it closes (a process that dies closes its handles). Elsewhere (native tests, the
//! Linux build of the tools) an in-process table of names stands in for the OS namespace
//! with the same semantics — zero-filled on creation, gone when the last holder drops — so
//! that the rest of the crate runs one code path everywhere.

#[cfg(windows)]
pub(crate) use win::Mapping;

#[cfg(not(windows))]
pub(crate) use local::Mapping;

#[cfg(windows)]
mod win {
    use crate::MonitorError;
    use std::sync::atomic::AtomicU64;
    use windows_sys::Win32::Foundation::{
        CloseHandle, GetLastError, ERROR_ALREADY_EXISTS, ERROR_FILE_NOT_FOUND, HANDLE,
        INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::System::Memory::{
        CreateFileMappingW, MapViewOfFile, OpenFileMappingW, UnmapViewOfFile, FILE_MAP_READ,
        FILE_MAP_WRITE, MEMORY_MAPPED_VIEW_ADDRESS, PAGE_READWRITE,
    };

    /// A view of a named file mapping.
    pub(crate) struct Mapping {
        handle: HANDLE,
        view: MEMORY_MAPPED_VIEW_ADDRESS,
        words: usize,
    }

    // SAFETY: the handle and the view belong to this value alone and Windows lets any thread
    // use or close them; the memory is only accessed through atomics (module invariant).
    unsafe impl Send for Mapping {}
    // SAFETY: shared access only hands out `&[AtomicU64]`, which is Sync.
    unsafe impl Sync for Mapping {}

    fn wide(name: &str) -> Vec<u16> {
        format!("Local\\{name}")
            .encode_utf16()
            .chain(std::iter::once(0))
            .collect()
    }

    fn os_error(what: &'static str) -> MonitorError {
        MonitorError::Os(what, std::io::Error::last_os_error())
    }

    impl Mapping {
        /// Creates the mapping `name` of `words` words, or opens it when it exists; the
        /// flag says whether this call created it (then it is zero-filled).
        pub(crate) fn create(name: &str, words: usize) -> Result<(Self, bool), MonitorError> {
            let bytes = (words * 8) as u64;
            let w = wide(name);
            // SAFETY: `w` is NUL-terminated and outlives the call; a null security
            // descriptor means the default (the creating user); INVALID_HANDLE_VALUE asks
            // for paging-file backing of `bytes`.
            let handle = unsafe {
                CreateFileMappingW(
                    INVALID_HANDLE_VALUE,
                    std::ptr::null(),
                    PAGE_READWRITE,
                    (bytes >> 32) as u32,
                    bytes as u32,
                    w.as_ptr(),
                )
            };
            if handle.is_null() {
                return Err(os_error("CreateFileMappingW"));
            }
            // SAFETY: no call since CreateFileMappingW.
            let existed = unsafe { GetLastError() } == ERROR_ALREADY_EXISTS;
            let m = Self::map(handle, words, true)?;
            Ok((m, !existed))
        }

        /// Opens an existing mapping read-only; `None` when there is none of that name.
        pub(crate) fn open(name: &str, words: usize) -> Result<Option<Self>, MonitorError> {
            let w = wide(name);
            // SAFETY: `w` is NUL-terminated and outlives the call.
            let handle = unsafe { OpenFileMappingW(FILE_MAP_READ, 0, w.as_ptr()) };
            if handle.is_null() {
                // SAFETY: no call since OpenFileMappingW.
                if unsafe { GetLastError() } == ERROR_FILE_NOT_FOUND {
                    return Ok(None);
                }
                return Err(os_error("OpenFileMappingW"));
            }
            Self::map(handle, words, false).map(Some)
        }

        fn map(handle: HANDLE, words: usize, writable: bool) -> Result<Self, MonitorError> {
            let rights = if writable {
                FILE_MAP_READ | FILE_MAP_WRITE
            } else {
                FILE_MAP_READ
            };
            // SAFETY: `handle` is a valid file-mapping handle owned here; mapping exactly
            // `words × 8` bytes fails (null) when the object is smaller.
            let view = unsafe { MapViewOfFile(handle, rights, 0, 0, words * 8) };
            if view.Value.is_null() {
                let e = os_error("MapViewOfFile");
                // SAFETY: the handle is ours and not used after this.
                unsafe { CloseHandle(handle) };
                return Err(e);
            }
            Ok(Self {
                handle,
                view,
                words,
            })
        }

        /// The memory as words (module invariant).
        pub(crate) fn words(&self) -> &[AtomicU64] {
            // SAFETY: the module invariant: the view is mapped until `drop`, page-aligned,
            // `words × 8` bytes long, and only accessed atomically by every process; the
            // borrow cannot outlive `self`.
            unsafe { std::slice::from_raw_parts(self.view.Value.cast::<AtomicU64>(), self.words) }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: the view and handle are ours; no borrow of `words()` outlives `self`.
            unsafe {
                UnmapViewOfFile(self.view);
                CloseHandle(self.handle);
            }
        }
    }
}

#[cfg(not(windows))]
mod local {
    use crate::MonitorError;
    use std::collections::HashMap;
    use std::sync::atomic::AtomicU64;
    use std::sync::{Arc, OnceLock, Weak};
    use tenuto_engine::sync::Mutex;

    type Table = Mutex<HashMap<String, Weak<[AtomicU64]>>>;

    fn table() -> &'static Table {
        static T: OnceLock<Table> = OnceLock::new();
        T.get_or_init(Table::default)
    }

    /// A holder of a named in-process region (see the module documentation).
    pub(crate) struct Mapping {
        mem: Arc<[AtomicU64]>,
    }

    impl Mapping {
        pub(crate) fn create(name: &str, words: usize) -> Result<(Self, bool), MonitorError> {
            let mut t = table().lock();
            if let Some(mem) = t.get(name).and_then(Weak::upgrade) {
                if mem.len() < words {
                    return Err(MonitorError::Incompatible("region smaller than expected"));
                }
                return Ok((Self { mem }, false));
            }
            let mem: Arc<[AtomicU64]> = (0..words).map(|_| AtomicU64::new(0)).collect();
            t.retain(|_, w| w.strong_count() > 0);
            t.insert(name.to_owned(), Arc::downgrade(&mem));
            Ok((Self { mem }, true))
        }

        pub(crate) fn open(name: &str, words: usize) -> Result<Option<Self>, MonitorError> {
            let t = table().lock();
            match t.get(name).and_then(Weak::upgrade) {
                None => Ok(None),
                Some(mem) if mem.len() < words => {
                    Err(MonitorError::Incompatible("region smaller than expected"))
                }
                Some(mem) => Ok(Some(Self { mem })),
            }
        }

        pub(crate) fn words(&self) -> &[AtomicU64] {
            &self.mem
        }
    }
}

/// Whether process `pid` exists.
pub(crate) fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    alive(pid)
}

#[cfg(windows)]
fn alive(pid: u32) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, STILL_ACTIVE};
    use windows_sys::Win32::System::Threading::{
        GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    };
    // SAFETY: plain call; a null handle means no such process (or no right to see it).
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if h.is_null() {
        // Access denied means the process exists (another user's); a monitor only lists
        // its own session's instances, so treat any failure as gone except that one.
        return std::io::Error::last_os_error().raw_os_error() == Some(5);
    }
    let mut code = 0u32;
    // SAFETY: `h` is a valid process handle; `code` is a valid out-pointer.
    let ok = unsafe { GetExitCodeProcess(h, &mut code) } != 0;
    // SAFETY: `h` is ours and not used after this.
    unsafe { CloseHandle(h) };
    !ok || code == STILL_ACTIVE as u32
}

#[cfg(not(windows))]
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
