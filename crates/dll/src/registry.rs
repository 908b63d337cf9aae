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
//! The calls go through `tenuto-win` (the `windows-registry` crate); this module has no
//! `unsafe`.

#![forbid(unsafe_code)]

use std::path::Path;

use tenuto_win::registry::{self as reg, Key, View, LOCAL_MACHINE};
use windows_sys::Win32::Foundation::ERROR_ACCESS_DENIED;

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

/// Creates (or opens) `HKLM\path` for writing, in this process's own view: a 32-bit build
/// writes where 32-bit hosts read.
fn create(path: &str) -> Result<Key, RegistryError> {
    reg::create(LOCAL_MACHINE, path, View::Own).map_err(|code| fail("create", path, code))
}

/// Writes a `REG_SZ` value (`None`: the key's default value).
fn set(key: &Key, path: &str, name: Option<&str>, value: &str) -> Result<(), RegistryError> {
    reg::set_string(key, name.unwrap_or(""), value)
        .map_err(|code| fail("write a value in", path, code))
}

/// Reads a string value under HKLM (`name` `None` = the default value);
/// `None` when the key or value does not exist or cannot be read.
pub fn read_string(path: &str, name: Option<&str>) -> Option<String> {
    let key = reg::open(LOCAL_MACHINE, path, false, View::Own).ok()??;
    reg::string(&key, name.unwrap_or("")).ok()?
}

/// Whether a key exists under HKLM.
pub fn key_exists(path: &str) -> bool {
    reg::key_exists(LOCAL_MACHINE, path, View::Own)
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
        let removed =
            reg::delete_tree(LOCAL_MACHINE, &path).map_err(|code| fail("delete", &path, code))?;
        lines.push(if removed {
            format!("removed HKLM\\{path}")
        } else {
            format!("HKLM\\{path} was not there")
        });
    }
    Ok(Outcome { lines })
}
