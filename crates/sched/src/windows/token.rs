//! Whether the process token holds `SeIncreaseBasePriorityPrivilege`,
//! without which Windows turns a REALTIME class request into HIGH.
//!
//! # Safety invariant
//!
//! Every `unsafe` block here is a token call given the process
//! pseudo-handle, the token handle this module opened (owned by an
//! [`OwnedHandle`], closed once), static NUL-terminated wide strings, and
//! live out-pointers; the `TOKEN_PRIVILEGES` the system writes is read from
//! an 8-byte aligned buffer of the length passed to the call, each entry
//! bounds-checked against that length and read unaligned.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::mem::size_of;

use windows_sys::Win32::Foundation::{HANDLE, LUID};
use windows_sys::Win32::Security::{
    GetTokenInformation, LookupPrivilegeValueW, TokenPrivileges, LUID_AND_ATTRIBUTES,
    SE_INC_BASE_PRIORITY_NAME, TOKEN_QUERY,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::error::SchedError;
use super::sys::{last_error, OwnedHandle};

fn open_process_token() -> Result<OwnedHandle, u32> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: GetCurrentProcess is a pseudo-handle; `token` is a live
    // out-pointer; the handle is owned on success.
    let ok = unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) };
    if ok == 0 {
        return Err(last_error());
    }
    OwnedHandle::new(token).ok_or(0)
}

/// Whether this process's token holds `SeIncreaseBasePriorityPrivilege`
/// (enabled or not: `SetPriorityClass` enables it itself). Without it
/// Windows turns a REALTIME request into HIGH without saying so.
pub fn has_increase_base_priority_privilege() -> Result<bool, SchedError> {
    let token = open_process_token().map_err(|code| SchedError::PrivilegeQuery {
        step: "OpenProcessToken",
        code,
    })?;
    let mut luid = LUID {
        LowPart: 0,
        HighPart: 0,
    };
    // SAFETY: null system name = local; the name is a static NUL-terminated
    // wide string; `luid` is a live out-pointer.
    if unsafe { LookupPrivilegeValueW(std::ptr::null(), SE_INC_BASE_PRIORITY_NAME, &mut luid) } == 0
    {
        return Err(SchedError::PrivilegeQuery {
            step: "LookupPrivilegeValueW(SeIncreaseBasePriorityPrivilege)",
            code: last_error(),
        });
    }
    let mut needed = 0u32;
    // SAFETY: size query: null buffer with length 0; `needed` is a live
    // out-pointer. Fails with ERROR_INSUFFICIENT_BUFFER by design.
    unsafe {
        GetTokenInformation(
            token.raw(),
            TokenPrivileges,
            std::ptr::null_mut(),
            0,
            &mut needed,
        )
    };
    if needed == 0 {
        return Err(SchedError::PrivilegeQuery {
            step: "GetTokenInformation(TokenPrivileges) size",
            code: last_error(),
        });
    }
    // u64 words: TOKEN_PRIVILEGES needs 4-byte alignment; 8 is ample.
    let mut buf = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: `buf` is live, 8-byte aligned and at least `needed` bytes;
    // its byte length is passed.
    let ok = unsafe {
        GetTokenInformation(
            token.raw(),
            TokenPrivileges,
            buf.as_mut_ptr().cast::<c_void>(),
            (buf.len() * 8) as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(SchedError::PrivilegeQuery {
            step: "GetTokenInformation(TokenPrivileges)",
            code: last_error(),
        });
    }
    // TOKEN_PRIVILEGES { PrivilegeCount: u32, Privileges: [LUID_AND_ATTRIBUTES; N] }:
    // the array starts at offset 4 (LUID_AND_ATTRIBUTES is 4-aligned).
    let base = buf.as_ptr().cast::<u8>();
    // SAFETY: the buffer holds a TOKEN_PRIVILEGES the system wrote; its
    // first u32 is the count and it is 8-byte aligned.
    let count = unsafe { base.cast::<u32>().read() } as usize;
    let bytes = buf.len() * 8;
    let entry_size = size_of::<LUID_AND_ATTRIBUTES>();
    for i in 0..count {
        let offset = 4 + i * entry_size;
        if offset + entry_size > bytes {
            break;
        }
        // SAFETY: offset + entry_size is within the buffer (checked above);
        // read_unaligned makes no alignment assumption.
        let entry = unsafe {
            base.add(offset)
                .cast::<LUID_AND_ATTRIBUTES>()
                .read_unaligned()
        };
        if entry.Luid.LowPart == luid.LowPart && entry.Luid.HighPart == luid.HighPart {
            return Ok(true);
        }
    }
    Ok(false)
}
