//! Environment variables in a string (`%NAME%`), expanded as Windows does — what a
//! `REG_EXPAND_SZ` value holds. A leaf: the registry module uses it.
//!
//! # Safety invariant
//!
//! The one `unsafe` block passes a NUL-terminated source that lives across the call and a
//! buffer whose true length is passed alongside; the buffer is read only up to the length
//! Windows reported.

#![allow(unsafe_code)]

use windows_sys::Win32::System::Environment::ExpandEnvironmentStringsW;

use crate::wide::{from_wide, to_wide};

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
