//! The registry entries ASIO hosts look for, written and removed exactly.
//!
//! Registration writes three keys and nothing else:
//!
//! ```text
//! HKLM\SOFTWARE\Classes\CLSID\{CLSID}                  (default) = "Tenuto ASIO Driver"
//! HKLM\SOFTWARE\Classes\CLSID\{CLSID}\InprocServer32   (default) = <full DLL path>
//!                                                      ThreadingModel = "Both"
//! HKLM\SOFTWARE\ASIO\Tenuto                            CLSID = "{CLSID}"
//!                                                      Description = "Tenuto ASIO Driver"
//! ```
//!
//! `HKLM\SOFTWARE\Classes` is what `HKEY_CLASSES_ROOT` shows machine-wide;
//! writing there (rather than through HKCR, which silently falls back to
//! the current user's classes without administrator rights) makes a
//! missing elevation an error instead of a half-registered driver. A
//! 32-bit build writes the same paths and Windows redirects them to the
//! WOW6432Node views that 32-bit hosts read. Unregistration deletes the two
//! keys it created (`{CLSID}` and `ASIO\Tenuto`) with their subkeys, and
//! nothing else.
//!
//! # Safety invariant
//! Every Win32 call receives NUL-terminated UTF-16 strings that live across
//! the call, handles this module opened and closes exactly once (`Key`'s
//! drop), and buffers with their true lengths.

#![allow(unsafe_code)]

use std::path::Path;

use windows_sys::Win32::Foundation::{ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_SUCCESS};
use windows_sys::Win32::System::Registry::{
    RegCloseKey, RegCreateKeyExW, RegDeleteTreeW, RegOpenKeyExW, RegQueryValueExW, RegSetValueExW,
    HKEY, HKEY_LOCAL_MACHINE, KEY_READ, KEY_WRITE, REG_OPTION_NON_VOLATILE, REG_SZ,
};

use crate::{CLSID_TENUTO, DESCRIPTION, DRIVER_NAME};

/// Registry path (under HKLM) of the COM class.
pub fn clsid_key() -> String {
    format!("SOFTWARE\\Classes\\CLSID\\{CLSID_TENUTO}")
}

/// Registry path (under HKLM) of the ASIO driver entry.
pub fn asio_key() -> String {
    format!("SOFTWARE\\ASIO\\{DRIVER_NAME}")
}

/// Why registration failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Writing HKLM needs administrator rights.
    #[error(
        "writing HKLM\\{key} was refused: registering an ASIO driver needs administrator \
         rights; run `tenuto register` (or regsvr32) from an elevated command prompt"
    )]
    AccessDenied {
        /// The key that was refused.
        key: String,
    },
    /// Another registry failure.
    #[error("could not {action} HKLM\\{key}: Windows error {code}")]
    Os {
        /// What was attempted.
        action: &'static str,
        /// The key.
        key: String,
        /// The Win32 error code.
        code: u32,
    },
    /// The DLL to register does not exist.
    #[error("cannot register {path}: the file does not exist")]
    MissingDll {
        /// The path given.
        path: String,
    },
}

/// What registration or unregistration did, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// One line per key written or removed.
    pub lines: Vec<String>,
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

struct Key(HKEY);

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: a handle this module opened, closed once here.
        unsafe { RegCloseKey(self.0) };
    }
}

fn fail(action: &'static str, key: &str, code: u32) -> RegistryError {
    if code == ERROR_ACCESS_DENIED {
        RegistryError::AccessDenied {
            key: key.to_owned(),
        }
    } else {
        RegistryError::Os {
            action,
            key: key.to_owned(),
            code,
        }
    }
}

fn create(path: &str) -> Result<Key, RegistryError> {
    let wpath = wide(path);
    let mut key: HKEY = std::ptr::null_mut();
    // SAFETY: valid NUL-terminated path and out-pointer (module invariant).
    let rc = unsafe {
        RegCreateKeyExW(
            HKEY_LOCAL_MACHINE,
            wpath.as_ptr(),
            0,
            std::ptr::null(),
            REG_OPTION_NON_VOLATILE,
            KEY_WRITE,
            std::ptr::null(),
            &mut key,
            std::ptr::null_mut(),
        )
    };
    if rc == ERROR_SUCCESS {
        Ok(Key(key))
    } else {
        Err(fail("create", path, rc))
    }
}

fn set(key: &Key, path: &str, name: Option<&str>, value: &str) -> Result<(), RegistryError> {
    let wname = name.map(wide);
    let data = wide(value);
    let bytes = u32::try_from(data.len() * 2).unwrap_or(u32::MAX);
    // SAFETY: open handle; NUL-terminated name (or null for the default
    // value); `data` holds `bytes` bytes of NUL-terminated UTF-16.
    let rc = unsafe {
        RegSetValueExW(
            key.0,
            wname.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
            0,
            REG_SZ,
            data.as_ptr().cast(),
            bytes,
        )
    };
    if rc == ERROR_SUCCESS {
        Ok(())
    } else {
        Err(fail("write a value in", path, rc))
    }
}

fn delete_tree(path: &str) -> Result<bool, RegistryError> {
    let wpath = wide(path);
    // SAFETY: valid NUL-terminated path under an open predefined key.
    let rc = unsafe { RegDeleteTreeW(HKEY_LOCAL_MACHINE, wpath.as_ptr()) };
    match rc {
        ERROR_SUCCESS => Ok(true),
        ERROR_FILE_NOT_FOUND => Ok(false),
        _ => Err(fail("delete", path, rc)),
    }
}

/// Reads a string value under HKLM (`name` `None` = the default value);
/// `None` when the key or value does not exist.
pub fn read_string(path: &str, name: Option<&str>) -> Option<String> {
    let wpath = wide(path);
    let mut key: HKEY = std::ptr::null_mut();
    // SAFETY: valid path and out-pointer.
    let rc = unsafe { RegOpenKeyExW(HKEY_LOCAL_MACHINE, wpath.as_ptr(), 0, KEY_READ, &mut key) };
    if rc != ERROR_SUCCESS {
        return None;
    }
    let key = Key(key);
    let wname = name.map(wide);
    let mut buf = vec![0u16; 2048];
    let mut bytes = u32::try_from(buf.len() * 2).unwrap_or(u32::MAX);
    let mut kind = 0u32;
    // SAFETY: open handle; buffer writable for `bytes` bytes.
    let rc = unsafe {
        RegQueryValueExW(
            key.0,
            wname.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
            std::ptr::null(),
            &mut kind,
            buf.as_mut_ptr().cast(),
            &mut bytes,
        )
    };
    if rc != ERROR_SUCCESS || kind != REG_SZ {
        return None;
    }
    buf.truncate(bytes as usize / 2);
    while buf.last() == Some(&0) {
        buf.pop();
    }
    Some(String::from_utf16_lossy(&buf))
}

/// Whether a key exists under HKLM.
pub fn key_exists(path: &str) -> bool {
    let wpath = wide(path);
    let mut key: HKEY = std::ptr::null_mut();
    // SAFETY: valid path and out-pointer.
    let rc = unsafe { RegOpenKeyExW(HKEY_LOCAL_MACHINE, wpath.as_ptr(), 0, KEY_READ, &mut key) };
    if rc == ERROR_SUCCESS {
        drop(Key(key));
        true
    } else {
        false
    }
}

/// Registers `dll_path` as the Tenuto ASIO driver.
pub fn register(dll_path: &Path) -> Result<Outcome, RegistryError> {
    if !dll_path.is_file() {
        return Err(RegistryError::MissingDll {
            path: dll_path.display().to_string(),
        });
    }
    let path = std::path::absolute(dll_path)
        .unwrap_or_else(|_| dll_path.to_path_buf())
        .display()
        .to_string();
    // The ASIO key first: without administrator rights it fails before
    // anything was written.
    let asio = asio_key();
    let key = create(&asio)?;
    set(&key, &asio, Some("CLSID"), &CLSID_TENUTO.to_string())?;
    set(&key, &asio, Some("Description"), DESCRIPTION)?;
    let class = clsid_key();
    let key = create(&class)?;
    set(&key, &class, None, DESCRIPTION)?;
    let server = format!("{class}\\InprocServer32");
    let key = create(&server)?;
    set(&key, &server, None, &path)?;
    set(&key, &server, Some("ThreadingModel"), "Both")?;
    Ok(Outcome {
        lines: vec![
            format!("HKLM\\{asio}: CLSID = {CLSID_TENUTO}, Description = \"{DESCRIPTION}\""),
            format!("HKLM\\{class}: (default) = \"{DESCRIPTION}\""),
            format!("HKLM\\{server}: (default) = \"{path}\", ThreadingModel = \"Both\""),
        ],
    })
}

/// Removes exactly what [`register`] wrote. Succeeds when nothing was
/// registered.
pub fn unregister() -> Result<Outcome, RegistryError> {
    let mut lines = Vec::new();
    for path in [asio_key(), clsid_key()] {
        let removed = delete_tree(&path)?;
        lines.push(if removed {
            format!("removed HKLM\\{path}")
        } else {
            format!("HKLM\\{path} was not there")
        });
    }
    Ok(Outcome { lines })
}
