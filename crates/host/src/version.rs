//! A file's VERSIONINFO resource, read the way Explorer's file properties
//! read it (`GetFileVersionInfoW`, `VerQueryValueW`): the fixed four-part
//! file version and the strings of the file's first translation.
//!
//! # Safety invariant
//! Every call gets a NUL-terminated UTF-16 path or sub-block name that lives
//! across the call and a buffer of the size `GetFileVersionInfoSizeW`
//! asked for; the pointers `VerQueryValueW` returns point into that buffer,
//! which outlives every read through them, and are read only within the
//! length it returned.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::Path;

use tenuto_win::to_wide;
use windows_sys::Win32::Storage::FileSystem::{
    GetFileVersionInfoSizeW, GetFileVersionInfoW, VerQueryValueW, VS_FIXEDFILEINFO,
};

/// What a file's VERSIONINFO says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    /// `FILEVERSION`: major, minor, patch, build.
    pub file: [u16; 4],
    /// `PRODUCTVERSION`, the same four parts.
    pub product: [u16; 4],
    /// The `StringFileInfo` block's name: language and code page, e.g. `040904b0`.
    pub translation: String,
    /// `(name, value)` of each standard string present (`ProductName`,
    /// `FileVersion`, `ProductVersion`, `CompanyName`, `FileDescription`,
    /// `LegalCopyright`, `OriginalFilename`, `InternalName`).
    pub strings: Vec<(String, String)>,
}

impl FileVersion {
    /// The string `name`, if the resource has it.
    pub fn string(&self, name: &str) -> Option<&str> {
        self.strings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a file's version could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The file has no VERSIONINFO resource, or could not be opened.
    #[error("{path}: no version resource (Windows error {code})")]
    NoResource {
        /// The file.
        path: String,
        /// `GetLastError` after `GetFileVersionInfoSizeW`.
        code: u32,
    },
    /// The resource lacks a part every VERSIONINFO has.
    #[error("{path}: the version resource has no {part}")]
    Incomplete {
        /// The file.
        path: String,
        /// The missing part.
        part: &'static str,
    },
}

/// Reads `path`'s VERSIONINFO.
pub fn read(path: &Path) -> Result<FileVersion, VersionError> {
    let shown = path.display().to_string();
    let wpath = to_wide(&path.as_os_str().to_string_lossy());
    let mut handle = 0u32;
    // SAFETY: `wpath` is NUL-terminated and outlives the call; `handle` is a valid out-pointer.
    let size = unsafe { GetFileVersionInfoSizeW(wpath.as_ptr(), &mut handle) };
    if size == 0 {
        return Err(VersionError::NoResource {
            path: shown,
            code: std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32,
        });
    }
    let mut data = vec![0u8; size as usize];
    // SAFETY: `data` has the `size` bytes the call was told about.
    let ok = unsafe { GetFileVersionInfoW(wpath.as_ptr(), 0, size, data.as_mut_ptr().cast()) };
    if ok == 0 {
        return Err(VersionError::NoResource {
            path: shown,
            code: std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32,
        });
    }
    // A sub-block of `data`: its pointer and length (bytes for binary blocks, characters
    // for strings), or None.
    let query = |block: &str| -> Option<(*const c_void, u32)> {
        let name = to_wide(block);
        let mut ptr: *mut c_void = std::ptr::null_mut();
        let mut len = 0u32;
        // SAFETY: `data` holds what GetFileVersionInfoW wrote; `name` is NUL-terminated;
        // the out-pointers are valid.
        let found =
            unsafe { VerQueryValueW(data.as_ptr().cast(), name.as_ptr(), &mut ptr, &mut len) };
        (found != 0 && !ptr.is_null()).then_some((ptr.cast_const(), len))
    };
    let incomplete = |part| VersionError::Incomplete {
        path: shown.clone(),
        part,
    };

    let (fixed, len) = query("\\").ok_or_else(|| incomplete("fixed file info"))?;
    if (len as usize) < std::mem::size_of::<VS_FIXEDFILEINFO>() {
        return Err(incomplete("fixed file info"));
    }
    // SAFETY: the block is at least one VS_FIXEDFILEINFO long (checked above) and lies in
    // `data`; read_unaligned makes no alignment assumption.
    let fixed = unsafe { fixed.cast::<VS_FIXEDFILEINFO>().read_unaligned() };
    let parts = |ms: u32, ls: u32| [(ms >> 16) as u16, ms as u16, (ls >> 16) as u16, ls as u16];

    let (translations, len) =
        query("\\VarFileInfo\\Translation").ok_or_else(|| incomplete("translation table"))?;
    if len < 4 {
        return Err(incomplete("translation table"));
    }
    // SAFETY: the table holds at least one (language, code page) pair of u16 (checked above).
    let (language, code_page) = unsafe {
        let pair = translations.cast::<u16>();
        (pair.read_unaligned(), pair.add(1).read_unaligned())
    };
    let translation = format!("{language:04x}{code_page:04x}");

    let mut strings = Vec::new();
    for name in [
        "ProductName",
        "FileVersion",
        "ProductVersion",
        "CompanyName",
        "FileDescription",
        "LegalCopyright",
        "OriginalFilename",
        "InternalName",
    ] {
        let Some((ptr, chars)) = query(&format!("\\StringFileInfo\\{translation}\\{name}")) else {
            continue;
        };
        let units: Vec<u16> = (0..chars as usize)
            // SAFETY: VerQueryValueW returned a string of `chars` UTF-16 units (with its
            // NUL) inside `data`; read_unaligned makes no alignment assumption.
            .map(|i| unsafe { ptr.cast::<u16>().add(i).read_unaligned() })
            .collect();
        let value = String::from_utf16_lossy(&units)
            .trim_end_matches('\0')
            .to_owned();
        strings.push((name.to_owned(), value));
    }

    Ok(FileVersion {
        file: parts(fixed.dwFileVersionMS, fixed.dwFileVersionLS),
        product: parts(fixed.dwProductVersionMS, fixed.dwProductVersionLS),
        translation,
        strings,
    })
}
