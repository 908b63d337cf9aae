//! The Win32/NT calls the Windows policy makes, as safe functions that
//! return the raw error (`GetLastError()`, NTSTATUS or MMRESULT); the
//! modules above turn those into [`SchedError`](super::SchedError)s.
//!
//! # Safety invariant
//!
//! Every `unsafe` block here is a Win32/NT call that is given only (a) the
//! pseudo-handles `GetCurrentThread()`/`GetCurrentProcess()`, which are valid
//! for the whole life of the calling thread, (b) handles this module opened
//! and closes exactly once (snapshots and `OpenThread` handles, each wrapped
//! in [`OwnedHandle`]), or (c) the MMCSS handle returned by
//! `AvSetMmThreadCharacteristicsW`, owned by an [`MmcssHandle`] that is
//! `!Send` and reverted at most once, by value, on the thread that
//! registered; and pointers to live, correctly sized and aligned locals
//! (with the size passed alongside) or NUL-terminated UTF-16 buffers that
//! outlive the call. Thread-specific state (MMCSS, thread level, power
//! throttling) is changed only on the calling thread; reverting it on that
//! same thread is the callers' duty (their guard is `!Send`).

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::mem::size_of;

use tenuto_win::to_wide;
use windows_sys::Wdk::System::Threading::{NtQueryInformationThread, ThreadBasicInformation};
use windows_sys::Win32::Foundation::{CloseHandle, GetLastError, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Media::{timeBeginPeriod, timeEndPeriod, TIMERR_NOERROR};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::Threading::{
    AvRevertMmThreadCharacteristics, AvSetMmThreadCharacteristicsW, AvSetMmThreadPriority,
    GetCurrentProcess, GetCurrentThread, GetCurrentThreadId, GetPriorityClass, GetThreadPriority,
    OpenThread, SetPriorityClass, SetThreadInformation, SetThreadPriority, ThreadPowerThrottling,
    THREAD_POWER_THROTTLING_CURRENT_VERSION, THREAD_POWER_THROTTLING_STATE,
    THREAD_QUERY_LIMITED_INFORMATION,
};

/// `GetThreadPriority`'s failure value (winbase.h; not in the enabled
/// windows-sys features).
const THREAD_PRIORITY_ERROR_RETURN: i32 = 0x7FFF_FFFF;

/// `THREADINFOCLASS::ThreadPowerThrottlingState` (not in windows-sys), what
/// `GetThreadInformation(ThreadPowerThrottling)` queries. Called directly
/// because Wine 8's kernel32 `GetThreadInformation` is an aborting stub.
const THREAD_POWER_THROTTLING_STATE_CLASS: i32 = 49;

/// The calling thread's last-error value.
pub(super) fn last_error() -> u32 {
    // SAFETY: GetLastError reads the calling thread's last-error value; no
    // arguments.
    unsafe { GetLastError() }
}

/// A handle this module opened; closed exactly once on drop.
pub(super) struct OwnedHandle(HANDLE);

impl OwnedHandle {
    /// Takes ownership of `h`, unless it is null or invalid.
    pub(super) fn new(h: HANDLE) -> Option<Self> {
        (!h.is_null() && h != INVALID_HANDLE_VALUE).then_some(Self(h))
    }

    /// The raw handle, valid while `self` lives.
    pub(super) fn raw(&self) -> HANDLE {
        self.0
    }
}

impl Drop for OwnedHandle {
    fn drop(&mut self) {
        // SAFETY: self.0 is a valid handle this module opened (checked in
        // `new`) and owns; it is closed once, here.
        unsafe { CloseHandle(self.0) };
    }
}

// ---------------------------------------------------------------------------
// Reading a thread's priority

/// `CLIENT_ID` (winternl.h).
#[repr(C)]
#[allow(non_snake_case)]
struct ClientId {
    UniqueProcess: HANDLE,
    UniqueThread: HANDLE,
}

/// `THREAD_BASIC_INFORMATION` (not in windows-sys): 48 bytes on x64.
#[repr(C)]
#[allow(non_snake_case)]
struct ThreadBasicInformationData {
    ExitStatus: i32,
    TebBaseAddress: *mut c_void,
    ClientId: ClientId,
    AffinityMask: usize,
    /// KPRIORITY: the current (dynamic) priority, 0–31.
    Priority: i32,
    /// The base priority.
    BasePriority: i32,
}

/// Reads `(priority, base_priority)` of `thread`, a pseudo-handle or a
/// handle opened with `THREAD_QUERY_LIMITED_INFORMATION`. Real-time safe:
/// one system call, a stack buffer.
fn query_thread(thread: HANDLE) -> Result<(i32, i32), i32> {
    let mut info = ThreadBasicInformationData {
        ExitStatus: 0,
        TebBaseAddress: std::ptr::null_mut(),
        ClientId: ClientId {
            UniqueProcess: std::ptr::null_mut(),
            UniqueThread: std::ptr::null_mut(),
        },
        AffinityMask: 0,
        Priority: 0,
        BasePriority: 0,
    };
    // SAFETY: `thread` is a pseudo-handle or a handle opened with
    // THREAD_QUERY_LIMITED_INFORMATION that outlives the call; `info` is a
    // live, aligned THREAD_BASIC_INFORMATION and its exact size is passed;
    // the return-length pointer may be null.
    let status = unsafe {
        NtQueryInformationThread(
            thread,
            ThreadBasicInformation,
            (&raw mut info).cast::<c_void>(),
            size_of::<ThreadBasicInformationData>() as u32,
            std::ptr::null_mut(),
        )
    };
    if status < 0 {
        Err(status)
    } else {
        Ok((info.Priority, info.BasePriority))
    }
}

/// The calling thread's `(priority, base_priority)`, or the NTSTATUS.
/// Real-time safe: one system call into a stack buffer, no allocation, no
/// lock.
pub(super) fn current_thread_priorities() -> Result<(i32, i32), i32> {
    // SAFETY: GetCurrentThread returns a pseudo-handle; no arguments.
    query_thread(unsafe { GetCurrentThread() })
}

/// The calling thread's id.
pub(super) fn current_thread_id() -> u32 {
    // SAFETY: no arguments.
    unsafe { GetCurrentThreadId() }
}

/// `(tid, priority, base_priority)` of every thread of process `pid` that
/// this process may open with `THREAD_QUERY_LIMITED_INFORMATION`; empty
/// when no snapshot can be taken.
pub(super) fn thread_priorities_of(pid: u32) -> Vec<(u32, i32, i32)> {
    let mut out = Vec::new();
    // SAFETY: flags and pid by value; the returned handle is checked and
    // owned below.
    let snap = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    let Some(snap) = OwnedHandle::new(snap) else {
        return out;
    };
    let mut entry = THREADENTRY32 {
        dwSize: size_of::<THREADENTRY32>() as u32,
        cntUsage: 0,
        th32ThreadID: 0,
        th32OwnerProcessID: 0,
        tpBasePri: 0,
        tpDeltaPri: 0,
        dwFlags: 0,
    };
    // SAFETY: `snap` is a live snapshot handle; `entry` is a live
    // THREADENTRY32 with dwSize set as the API requires.
    let mut more = unsafe { Thread32First(snap.raw(), &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: access mask, inherit flag and thread id by value; the
            // returned handle is checked and owned.
            let h = unsafe { OpenThread(THREAD_QUERY_LIMITED_INFORMATION, 0, entry.th32ThreadID) };
            if let Some(h) = OwnedHandle::new(h) {
                if let Ok((priority, base_priority)) = query_thread(h.raw()) {
                    out.push((entry.th32ThreadID, priority, base_priority));
                }
            }
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snap.raw(), &mut entry) } != 0;
    }
    out
}

// ---------------------------------------------------------------------------
// Thread level and process class

/// The calling thread's relative level (`GetThreadPriority`), or the
/// last error.
pub(super) fn thread_level() -> Result<i32, u32> {
    // SAFETY: pseudo-handle of the calling thread.
    let level = unsafe { GetThreadPriority(GetCurrentThread()) };
    if level == THREAD_PRIORITY_ERROR_RETURN {
        Err(last_error())
    } else {
        Ok(level)
    }
}

/// Sets the calling thread's relative level (`SetThreadPriority`).
pub(super) fn set_thread_level(level: i32) -> Result<(), u32> {
    // SAFETY: pseudo-handle of the calling thread; the level by value
    // (Windows refuses invalid ones with an error).
    if unsafe { SetThreadPriority(GetCurrentThread(), level) } == 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

/// The process's priority class (a Win32 constant), or the last error.
pub(super) fn priority_class() -> Result<u32, u32> {
    // SAFETY: GetCurrentProcess is a pseudo-handle.
    match unsafe { GetPriorityClass(GetCurrentProcess()) } {
        0 => Err(last_error()),
        class => Ok(class),
    }
}

/// Sets the process's priority class.
pub(super) fn set_priority_class(class: u32) -> Result<(), u32> {
    // SAFETY: GetCurrentProcess is a pseudo-handle; the class by value.
    if unsafe { SetPriorityClass(GetCurrentProcess(), class) } == 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Power throttling

/// The calling thread's power-throttling request `(ControlMask,
/// StateMask)`, or the NTSTATUS.
pub(super) fn power_throttling_request() -> Result<(u32, u32), i32> {
    let mut state = THREAD_POWER_THROTTLING_STATE {
        Version: THREAD_POWER_THROTTLING_CURRENT_VERSION,
        ControlMask: 0,
        StateMask: 0,
    };
    // SAFETY: pseudo-handle of the calling thread; `state` is a live
    // THREAD_POWER_THROTTLING_STATE and its exact size is passed; the
    // return-length pointer may be null.
    let status = unsafe {
        NtQueryInformationThread(
            GetCurrentThread(),
            THREAD_POWER_THROTTLING_STATE_CLASS,
            (&raw mut state).cast::<c_void>(),
            size_of::<THREAD_POWER_THROTTLING_STATE>() as u32,
            std::ptr::null_mut(),
        )
    };
    if status < 0 {
        Err(status)
    } else {
        Ok((state.ControlMask, state.StateMask))
    }
}

/// Sets the calling thread's power-throttling request: `control_mask`
/// names what the thread decides itself (with `StateMask` 0: not
/// throttled); 0 lets the system decide again.
pub(super) fn set_power_throttling(control_mask: u32) -> Result<(), u32> {
    let state = THREAD_POWER_THROTTLING_STATE {
        Version: THREAD_POWER_THROTTLING_CURRENT_VERSION,
        ControlMask: control_mask,
        StateMask: 0,
    };
    // SAFETY: pseudo-handle of the calling thread; `state` is a live
    // THREAD_POWER_THROTTLING_STATE and its exact size is passed.
    let ok = unsafe {
        SetThreadInformation(
            GetCurrentThread(),
            ThreadPowerThrottling,
            (&raw const state).cast::<c_void>(),
            size_of::<THREAD_POWER_THROTTLING_STATE>() as u32,
        )
    };
    if ok == 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// MMCSS

/// The calling thread's MMCSS registration. `!Send` (it holds a raw
/// handle): it stays on the thread that registered, where [`revert`]
/// must be called. Dropping it without reverting leaves the registration
/// until the thread exits.
///
/// [`revert`]: MmcssHandle::revert
#[derive(Debug)]
pub(super) struct MmcssHandle(HANDLE);

/// Registers the calling thread for `task`; the registration and the task
/// index, or the last error.
pub(super) fn mmcss_register(task: &str) -> Result<(MmcssHandle, u32), u32> {
    let name = to_wide(task);
    let mut index = 0u32;
    // SAFETY: `name` is NUL-terminated UTF-16 and outlives the call;
    // `index` is a live in/out u32 that is 0 on the first call, as required.
    let handle = unsafe { AvSetMmThreadCharacteristicsW(name.as_ptr(), &mut index) };
    if handle.is_null() {
        Err(last_error())
    } else {
        Ok((MmcssHandle(handle), index))
    }
}

impl MmcssHandle {
    /// `AvSetMmThreadPriority` with an `AVRT_PRIORITY` value (-1..=2).
    pub(super) fn set_priority(&self, avrt_priority: i32) -> Result<(), u32> {
        // SAFETY: self.0 is the live registration made on this thread (the
        // handle is !Send); the priority by value.
        if unsafe { AvSetMmThreadPriority(self.0, avrt_priority) } == 0 {
            Err(last_error())
        } else {
            Ok(())
        }
    }

    /// Ends the registration (`AvRevertMmThreadCharacteristics`).
    pub(super) fn revert(self) -> Result<(), u32> {
        // SAFETY: self.0 came from AvSetMmThreadCharacteristicsW on this
        // thread and is reverted once: `self` is consumed.
        if unsafe { AvRevertMmThreadCharacteristics(self.0) } == 0 {
            Err(last_error())
        } else {
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------
// Timer resolution

/// `timeBeginPeriod(ms)`; the MMRESULT when it fails.
pub(super) fn time_begin_period(ms: u32) -> Result<(), u32> {
    // SAFETY: a plain value argument.
    match unsafe { timeBeginPeriod(ms) } {
        TIMERR_NOERROR => Ok(()),
        code => Err(code),
    }
}

/// `timeEndPeriod(ms)`, matching a successful [`time_begin_period`].
pub(super) fn time_end_period(ms: u32) {
    // SAFETY: a plain value argument.
    unsafe { timeEndPeriod(ms) };
}
