//! Facts about this process: whether it runs elevated, whether it runs under Wine; and the
//! expansion of environment variables in a string.
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
use windows_sys::Win32::System::Environment::ExpandEnvironmentStringsW;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use crate::registry::{self, View, LOCAL_MACHINE};
use crate::wide::{from_wide, to_wide};

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

/// `text` with its `%NAME%` environment variables expanded (`ExpandEnvironmentStringsW`);
/// `text` unchanged when the expansion fails.
pub fn expand_environment(text: &str) -> String {
    let source = to_wide(text);
    let mut buf = vec![0u16; source.len().max(64)];
    // A call into a buffer too small reports the size needed; the environment may change
    // before the next call, hence a few tries rather than one retry.
    for _ in 0..4 {
        let capacity = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        // SAFETY: `source` is NUL-terminated and lives across the call; `buf` holds
        // `capacity` UTF-16 units.
        let needed =
            unsafe { ExpandEnvironmentStringsW(source.as_ptr(), buf.as_mut_ptr(), capacity) };
        if needed == 0 {
            break;
        }
        if needed <= capacity {
            return from_wide(buf.get(..needed as usize).unwrap_or(&buf));
        }
        buf.resize(needed as usize, 0);
    }
    text.to_owned()
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

    #[test]
    fn environment_variables_are_expanded() {
        std::env::set_var("TENUTO_WIN_TEST", "expanded");
        assert_eq!(expand_environment("a %TENUTO_WIN_TEST% b"), "a expanded b");
        let long = "x".repeat(300);
        std::env::set_var("TENUTO_WIN_TEST_LONG", &long);
        assert_eq!(
            expand_environment("%TENUTO_WIN_TEST_LONG%!"),
            format!("{long}!")
        );
        assert_eq!(
            expand_environment("%NO_SUCH_VARIABLE_HERE%"),
            "%NO_SUCH_VARIABLE_HERE%"
        );
    }
}
