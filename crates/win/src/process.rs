//! Facts about this process: whether it runs elevated, whether it runs under Wine.
//!
//! # Safety invariant
//!
//! The `unsafe` blocks here are Win32 calls given only the pseudo-handle
//! `GetCurrentProcess()` (valid for the process's life), a token handle this module opened and
//! closes exactly once (`Token`'s drop), and pointers to live locals or buffers whose true
//! sizes are passed alongside; a buffer Windows wrote is read only up to the length it
//! reported.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::mem::size_of;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::Security::{
    GetTokenInformation, TokenElevation, TOKEN_ELEVATION, TOKEN_QUERY,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use crate::registry::{self, View, LOCAL_MACHINE};

/// This process's access token, closed on drop.
struct Token(HANDLE);

impl Token {
    fn open() -> Option<Token> {
        let mut token: HANDLE = std::ptr::null_mut();
        // SAFETY: GetCurrentProcess is a pseudo-handle; `token` is a live out-pointer.
        let ok = unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) };
        (ok != 0 && !token.is_null()).then_some(Token(token))
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        // SAFETY: a handle OpenProcessToken returned, closed once, here.
        unsafe { CloseHandle(self.0) };
    }
}

/// Whether this process runs elevated (the token's `TokenElevation`): what writing HKLM or
/// changing a service needs. `false` when the token cannot be read.
pub fn is_elevated() -> bool {
    let Some(token) = Token::open() else {
        return false;
    };
    let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut len = 0u32;
    // SAFETY: a live token opened with TOKEN_QUERY; `elevation` is a live TOKEN_ELEVATION
    // and its size is passed; `len` is a live out-pointer.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenElevation,
            (&raw mut elevation).cast::<c_void>(),
            size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        )
    };
    ok != 0 && elevation.TokenIsElevated != 0
}

/// Whether this process runs under Wine: `HKLM\Software\Wine` exists (every Wine prefix has
/// it; Windows never does). Wine's avrt, exclusive mode and thread priorities do not behave
/// as Windows', and tests and the driver adapt to it.
pub fn is_wine() -> bool {
    registry::key_exists(LOCAL_MACHINE, "Software\\Wine", View::Sixty4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_runner_is_wine_exactly_when_its_registry_says_so() {
        // The cargo runner runs these tests under Wine on Linux; a Windows machine has no
        // HKLM\Software\Wine.
        assert_eq!(
            is_wine(),
            registry::key_exists(LOCAL_MACHINE, "Software\\Wine", View::Own)
        );
        println!("is_wine: {}", is_wine());
    }

    #[test]
    fn elevation_is_read_from_the_token() {
        // Whatever the answer, reading it must not fail or hang; Wine's default prefix user is
        // an administrator, and writing HKLM then works.
        let elevated = is_elevated();
        println!("is_elevated: {elevated}");
        if elevated {
            let probe = format!("Software\\TenutoElevationProbe{}", std::process::id());
            assert!(
                registry::create(LOCAL_MACHINE, &probe, View::Own).is_ok(),
                "{probe}"
            );
            let _ = registry::delete_tree(LOCAL_MACHINE, &probe);
        }
    }
}
