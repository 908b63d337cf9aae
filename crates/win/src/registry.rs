//! The registry, through the `windows-registry` crate: keys that close themselves, errors as
//! Win32 codes (what messages name), a missing key or value as `None` rather than an error.
//!
//! Paths are relative to the key passed in (usually [`LOCAL_MACHINE`]). [`View`] says which
//! view of a redirected key a 32-bit process opens; on 64-bit Windows a 64-bit process sees
//! the same with either.

#![forbid(unsafe_code)]

pub use windows_registry::{Key, Type, Value, CLASSES_ROOT, LOCAL_MACHINE};
use windows_sys::Win32::Foundation::{ERROR_FILE_NOT_FOUND, ERROR_UNSUPPORTED_TYPE};
use windows_sys::Win32::Storage::FileSystem::DELETE;
use windows_sys::Win32::System::Registry::{
    KEY_WOW64_64KEY, REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ,
};

use crate::error::win32_from_hresult;
use crate::wide::from_wide;

/// A failed registry call: its Win32 error code (`ERROR_ACCESS_DENIED` = 5, …).
pub type Code = u32;

/// Which view of the registry to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// This process's own: a 32-bit process is redirected to `WOW6432Node`, as the hosts of
    /// its bitness are.
    Own,
    /// The 64-bit view whatever the process (`KEY_WOW64_64KEY`): machine-wide settings such
    /// as services.
    Sixty4,
}

impl View {
    fn access(self) -> u32 {
        match self {
            View::Own => 0,
            View::Sixty4 => KEY_WOW64_64KEY,
        }
    }
}

/// The Win32 code of a `windows-registry` error (the HRESULT's bits when it is not a Win32
/// one, which registry calls do not return).
pub fn code(e: &windows_result::Error) -> Code {
    let hr = e.code().0;
    win32_from_hresult(hr).unwrap_or(hr as u32)
}

fn missing_as_none<T>(r: windows_result::Result<T>) -> Result<Option<T>, Code> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if code(&e) == ERROR_FILE_NOT_FOUND => Ok(None),
        Err(e) => Err(code(&e)),
    }
}

/// Opens `path` under `parent` for reading (and writing, with `write`); `Ok(None)` when it
/// does not exist.
pub fn open(parent: &Key, path: &str, write: bool, view: View) -> Result<Option<Key>, Code> {
    let mut options = parent.options();
    options.read().access(view.access());
    if write {
        options.write();
    }
    missing_as_none(options.open(path))
}

/// Opens `path` under `parent` for reading and writing, creating it (and missing parents)
/// when it does not exist.
pub fn create(parent: &Key, path: &str, view: View) -> Result<Key, Code> {
    parent
        .options()
        .read()
        .write()
        .create()
        .access(view.access())
        .open(path)
        .map_err(|e| code(&e))
}

/// Whether `path` exists under `parent` (and this process may read it).
pub fn key_exists(parent: &Key, path: &str, view: View) -> bool {
    matches!(open(parent, path, false, view), Ok(Some(_)))
}

/// A value (`""` names the key's default value); `Ok(None)` when it does not exist.
pub fn value(key: &Key, name: &str) -> Result<Option<Value>, Code> {
    missing_as_none(key.get_value(name))
}

/// A string value (`""`: the default value): `REG_SZ` as stored, `REG_EXPAND_SZ` with its
/// environment variables expanded, up to the first NUL. `Ok(None)` when it does not exist;
/// another type is `ERROR_UNSUPPORTED_TYPE`.
pub fn string(key: &Key, name: &str) -> Result<Option<String>, Code> {
    let Some(v) = value(key, name)? else {
        return Ok(None);
    };
    match v.ty() {
        Type::String => Ok(Some(from_wide(v.as_wide()))),
        Type::ExpandString => Ok(Some(crate::env::expand_environment(&from_wide(
            v.as_wide(),
        )))),
        _ => Err(ERROR_UNSUPPORTED_TYPE),
    }
}

/// A `REG_DWORD` value; `Ok(None)` when it does not exist or has another type.
pub fn dword(key: &Key, name: &str) -> Result<Option<u32>, Code> {
    Ok(
        value(key, name)?.and_then(|v| match (v.ty(), <[u8; 4]>::try_from(&v[..])) {
            (Type::U32, Ok(b)) => Some(u32::from_le_bytes(b)),
            _ => None,
        }),
    )
}

/// The names of `key`'s subkeys, in registry order. A subkey deleted while this runs ends
/// the list early.
pub fn subkeys(key: &Key) -> Result<Vec<String>, Code> {
    Ok(key.keys().map_err(|e| code(&e))?.collect())
}

/// `key`'s values, in registry order. A value deleted while this runs ends the list early.
pub fn values(key: &Key) -> Result<Vec<(String, Value)>, Code> {
    Ok(key.values().map_err(|e| code(&e))?.collect())
}

/// How many subkeys and values `key` has.
pub fn counts(key: &Key) -> Result<(usize, usize), Code> {
    Ok((subkeys(key)?.len(), values(key)?.len()))
}

/// The `REG_*` number of a value type.
pub fn type_number(ty: Type) -> u32 {
    match ty {
        Type::U32 => REG_DWORD,
        Type::U64 => REG_QWORD,
        Type::String => REG_SZ,
        Type::ExpandString => REG_EXPAND_SZ,
        Type::MultiString => REG_MULTI_SZ,
        Type::Bytes => REG_BINARY,
        Type::Other(n) => n,
    }
}

/// Writes a `REG_SZ` value (`""`: the default value).
pub fn set_string(key: &Key, name: &str, value: &str) -> Result<(), Code> {
    key.set_string(name, value).map_err(|e| code(&e))
}

/// Writes a `REG_DWORD` value.
pub fn set_dword(key: &Key, name: &str, value: u32) -> Result<(), Code> {
    key.set_u32(name, value).map_err(|e| code(&e))
}

/// Deletes a value; `Ok(false)` when it was not there.
pub fn delete_value(key: &Key, name: &str) -> Result<bool, Code> {
    Ok(missing_as_none(key.remove_value(name))?.is_some())
}

/// Deletes `path` under `parent` with its subkeys and values (`RegDeleteTreeW`) in this
/// process's own view; `Ok(false)` when it was not there.
pub fn delete_tree(parent: &Key, path: &str) -> Result<bool, Code> {
    Ok(missing_as_none(parent.remove_tree(path))?.is_some())
}

/// Deletes `path` under `parent` with its subkeys and values in the given view, by opening
/// its parent key in that view; `Ok(false)` when it was not there.
pub fn delete_tree_in(parent: &Key, path: &str, view: View) -> Result<bool, Code> {
    let (above, name) = match path.rsplit_once('\\') {
        Some((above, name)) => (Some(above), name),
        None => (None, path),
    };
    let opened;
    let holder = match above {
        Some(above) => {
            let mut options = parent.options();
            options.read().write().access(view.access() | DELETE);
            match missing_as_none(options.open(above))? {
                Some(k) => {
                    opened = k;
                    &opened
                }
                None => return Ok(false),
            }
        }
        None => parent,
    };
    delete_tree(holder, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_registry::CURRENT_USER;

    /// A scratch key under HKCU (writable without elevation), removed on drop.
    /// A key of each test's own, with no parent shared between tests: the tests run in
    /// parallel, and deleting a shared parent would delete a sibling's key under it.
    struct Scratch(String);

    impl Scratch {
        fn new(name: &str) -> Self {
            let path = format!("Software\\TenutoTest-{name}-{}", std::process::id());
            let _ = delete_tree(CURRENT_USER, &path);
            Scratch(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = delete_tree(CURRENT_USER, &self.0);
        }
    }

    #[test]
    fn missing_keys_and_values_are_none_not_errors() {
        let s = Scratch::new("missing");
        assert!(matches!(
            open(CURRENT_USER, &s.0, false, View::Own),
            Ok(None)
        ));
        assert!(!key_exists(CURRENT_USER, &s.0, View::Own));
        let key = create(CURRENT_USER, &s.0, View::Own).expect("create");
        assert!(key_exists(CURRENT_USER, &s.0, View::Own));
        assert_eq!(string(&key, "nothing"), Ok(None));
        assert_eq!(dword(&key, "nothing"), Ok(None));
        assert_eq!(delete_value(&key, "nothing"), Ok(false));
        assert_eq!(
            delete_tree(CURRENT_USER, &format!("{}\\none", s.0)),
            Ok(false)
        );
    }

    #[test]
    fn strings_dwords_and_the_default_value_round_trip() {
        let s = Scratch::new("values");
        let key = create(CURRENT_USER, &format!("{}\\Sub", s.0), View::Sixty4).expect("create");
        set_string(&key, "", "default ÿ 𝄞").expect("default");
        set_string(&key, "Name", "value").expect("named");
        set_dword(&key, "Start", 4).expect("dword");
        key.set_expand_string("Path", "%SystemRoot%\\x")
            .expect("expand");
        key.set_bytes("Blob", Type::Bytes, &[1, 2, 3])
            .expect("binary");
        assert_eq!(string(&key, ""), Ok(Some("default ÿ 𝄞".to_owned())));
        assert_eq!(string(&key, "Name"), Ok(Some("value".to_owned())));
        let expanded = string(&key, "Path").expect("read").expect("there");
        assert!(
            !expanded.contains('%') && expanded.ends_with("\\x"),
            "{expanded}"
        );
        assert_eq!(dword(&key, "Start"), Ok(Some(4)));
        assert_eq!(dword(&key, "Name"), Ok(None), "not a DWORD");
        assert_eq!(string(&key, "Start"), Err(ERROR_UNSUPPORTED_TYPE));
        let names: Vec<String> = values(&key)
            .expect("values")
            .into_iter()
            .map(|v| v.0)
            .collect();
        for n in ["", "Name", "Start", "Path", "Blob"] {
            assert!(names.iter().any(|m| m == n), "{n:?} in {names:?}");
        }
        let blob = value(&key, "Blob").expect("read").expect("there");
        assert_eq!(
            (type_number(blob.ty()), &blob[..]),
            (REG_BINARY, &[1u8, 2, 3][..])
        );
        assert_eq!(delete_value(&key, "Name"), Ok(true));
        assert_eq!(string(&key, "Name"), Ok(None));
        let parent = open(CURRENT_USER, &s.0, false, View::Own)
            .expect("open")
            .expect("there");
        assert_eq!(subkeys(&parent), Ok(vec!["Sub".to_owned()]));
        assert_eq!(counts(&parent), Ok((1, 0)));
    }

    #[test]
    fn delete_tree_removes_subkeys_and_reports_what_was_there() {
        let s = Scratch::new("tree");
        create(CURRENT_USER, &format!("{}\\A\\B", s.0), View::Own).expect("create");
        assert_eq!(
            delete_tree_in(CURRENT_USER, &format!("{}\\A", s.0), View::Sixty4),
            Ok(true)
        );
        assert!(!key_exists(CURRENT_USER, &format!("{}\\A", s.0), View::Own));
        assert_eq!(
            delete_tree_in(CURRENT_USER, &format!("{}\\A", s.0), View::Sixty4),
            Ok(false)
        );
        assert_eq!(
            delete_tree_in(CURRENT_USER, "Software\\TenutoNoSuchParent\\X", View::Own),
            Ok(false)
        );
    }

    #[test]
    fn errors_are_win32_codes() {
        // A missing key: ERROR_FILE_NOT_FOUND (2), from the HRESULT windows-registry returns.
        let e = LOCAL_MACHINE
            .open("Software\\TenutoNoSuchKey")
            .expect_err("missing");
        assert_eq!(code(&e), ERROR_FILE_NOT_FOUND);
    }
}
