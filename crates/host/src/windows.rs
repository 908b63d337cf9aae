//! Windows: the ASIO drivers registered on this machine, and loading one
//! through COM the way hosts do.
//!
//! Hosts find ASIO drivers in `HKEY_LOCAL_MACHINE\SOFTWARE\ASIO`: one subkey
//! per driver, with string values `CLSID` and `Description`. COM finds the
//! driver's DLL under `HKEY_CLASSES_ROOT\CLSID\{clsid}\InprocServer32`.
//! A host creates the driver with `CoCreateInstance(clsid, …, clsid)`: the
//! CLSID doubles as the interface ID (an ASIO quirk).
//!
//! The registry is read in this process's own view: a 64-bit `tenuto.exe`
//! sees the 64-bit drivers, as a 64-bit DAW does (32-bit drivers register
//! under `WOW6432Node`, which only 32-bit hosts see).
//!
//! The registry is read through `tenuto-win` (safe code).
//!
//! # Safety invariant
//! The unsafe code here only initialises COM and creates the driver:
//! * A pointer returned by `CoCreateInstance` with a success code is an
//!   object whose one reference we own, created with the CLSID as the IID,
//!   which for an ASIO driver is its `IASIO` interface; it is handed to
//!   [`crate::Driver::from_raw`] exactly once.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::fmt;
use std::path::PathBuf;

use asio_abi::Guid;
use tenuto_win::registry::{self as reg, Key, View, CLASSES_ROOT, LOCAL_MACHINE};
use windows_sys::core::GUID;
use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_MORE_DATA, ERROR_UNSUPPORTED_TYPE,
    RPC_E_CHANGED_MODE, S_FALSE, S_OK,
};
use windows_sys::Win32::System::Com::{
    CoCreateInstance, CoInitializeEx, CLSCTX_INPROC_SERVER, COINIT_APARTMENTTHREADED,
};

/// Where hosts look for ASIO drivers, under `HKEY_LOCAL_MACHINE`.
pub const ASIO_KEY: &str = r"SOFTWARE\ASIO";

/// Hosts built on the ASIO SDK check the DLL path with an API limited to
/// this many characters and skip drivers with longer paths.
const SDK_PATH_LIMIT: usize = 128;

/// One driver registered under `HKLM\SOFTWARE\ASIO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledDriver {
    /// The subkey name, which is the name most hosts list.
    pub name: String,
    /// The `CLSID` value, when present and well formed.
    pub clsid: Option<Guid>,
    /// The `Description` value (hosts built on the ASIO SDK list this
    /// instead of the key name when it is present).
    pub description: Option<String>,
    /// The DLL COM loads: `HKCR\CLSID\{clsid}\InprocServer32`'s default value.
    pub dll_path: Option<PathBuf>,
    /// Whether `dll_path` names an existing file.
    pub dll_exists: bool,
    /// What is missing or malformed in the registration, in words; `None`
    /// when it looks complete.
    pub problem: Option<String>,
}

impl InstalledDriver {
    /// Whether this is Tenuto (by its CLSID).
    pub fn is_tenuto(&self) -> bool {
        self.clsid == Some(tenuto_driver::CLSID_TENUTO)
    }

    fn fix(&self) -> &'static str {
        if self.is_tenuto() || self.name.eq_ignore_ascii_case("Tenuto") {
            "run `tenuto register` as administrator"
        } else {
            "reinstall the driver"
        }
    }
}

/// A Win32 error code, shown with its number and meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Win32Error(pub u32);

impl fmt::Display for Win32Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meaning = match self.0 {
            ERROR_FILE_NOT_FOUND => "not found",
            ERROR_ACCESS_DENIED => "access denied",
            ERROR_MORE_DATA => "more data than expected",
            ERROR_UNSUPPORTED_TYPE => "value has the wrong type",
            _ => "",
        };
        if meaning.is_empty() {
            write!(f, "Windows error {}", self.0)
        } else {
            write!(f, "Windows error {} ({meaning})", self.0)
        }
    }
}

/// The ASIO driver list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// `HKLM\SOFTWARE\ASIO` exists but cannot be opened.
    #[error(
        "cannot open the registry key HKEY_LOCAL_MACHINE\\{key}: {code}; \
         check that your account may read it (regedit → Permissions)"
    )]
    Open {
        /// The key, under `HKEY_LOCAL_MACHINE`.
        key: String,
        /// What `RegOpenKeyExW` returned.
        code: Win32Error,
    },
    /// Its subkeys cannot be enumerated.
    #[error(
        "cannot list the subkeys of HKEY_LOCAL_MACHINE\\{key} (entry {index}): {code}; \
         check that your account may read it (regedit → Permissions)"
    )]
    Enumerate {
        /// The key, under `HKEY_LOCAL_MACHINE`.
        key: String,
        /// Index of the subkey that failed (0: the key could not be listed at all).
        index: u32,
        /// What `RegEnumKeyExW` returned.
        code: Win32Error,
    },
}

/// A registered driver could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The driver list could not be read.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// No driver has that name.
    #[error("no ASIO driver named \"{name}\" is registered; {}", registered_list(.registered))]
    NotFound {
        /// The name asked for.
        name: String,
        /// The names that are registered.
        registered: Vec<String>,
    },
    /// The driver's registration has no usable CLSID.
    #[error("the ASIO driver \"{name}\" cannot be loaded: {problem}")]
    Unusable {
        /// The driver.
        name: String,
        /// What is wrong with its registration.
        problem: String,
    },
    /// COM could not be initialised on this thread.
    #[error(
        "CoInitializeEx(COINIT_APARTMENTTHREADED) failed with 0x{hresult:08X}: \
         COM cannot be used on this thread, so no ASIO driver can be loaded; \
         try again, or restart Windows if it persists"
    )]
    ComInit {
        /// The HRESULT, as its unsigned bit pattern.
        hresult: u32,
    },
    /// `CoCreateInstance` failed or returned no object.
    #[error(
        "CoCreateInstance for {name} ({clsid}) failed with 0x{hresult:08X} ({meaning}): {advice}"
    )]
    Create {
        /// The driver.
        name: String,
        /// Its CLSID.
        clsid: Guid,
        /// The HRESULT, as its unsigned bit pattern (0 if it succeeded
        /// without returning an object).
        hresult: u32,
        /// The HRESULT's name.
        meaning: &'static str,
        /// What it means for this driver and what the user can do.
        advice: String,
    },
}

fn registered_list(names: &[String]) -> String {
    if names.is_empty() {
        format!(
            "no ASIO drivers are registered at all (HKEY_LOCAL_MACHINE\\{ASIO_KEY} is empty \
             or missing); to register Tenuto, run `tenuto register` as administrator"
        )
    } else {
        format!(
            "registered drivers: {} (see `tenuto list`)",
            names.join(", ")
        )
    }
}

/// Lists the ASIO drivers registered under `HKLM\SOFTWARE\ASIO`, in
/// registry order, each with what is wrong with its registration, if
/// anything. A missing `SOFTWARE\ASIO` key means no drivers, not an error.
pub fn installed_drivers() -> Result<Vec<InstalledDriver>, RegistryError> {
    let asio = match reg::open(LOCAL_MACHINE, ASIO_KEY, false, View::Own) {
        Ok(Some(k)) => k,
        Ok(None) => return Ok(Vec::new()),
        Err(code) => {
            return Err(RegistryError::Open {
                key: ASIO_KEY.to_owned(),
                code: Win32Error(code),
            })
        }
    };
    let names = reg::subkeys(&asio).map_err(|code| RegistryError::Enumerate {
        key: ASIO_KEY.to_owned(),
        index: 0,
        code: Win32Error(code),
    })?;
    Ok(names
        .into_iter()
        .map(|name| describe(&asio, name))
        .collect())
}

/// Reads one driver's registration; never fails, records problems instead.
fn describe(asio: &Key, name: String) -> InstalledDriver {
    let key_path = format!(r"HKEY_LOCAL_MACHINE\{ASIO_KEY}\{name}");
    let mut driver = InstalledDriver {
        name,
        clsid: None,
        description: None,
        dll_path: None,
        dll_exists: false,
        problem: None,
    };
    let mut problems: Vec<String> = Vec::new();
    let key = match reg::open(asio, &driver.name, false, View::Own).map_err(Win32Error) {
        Ok(Some(k)) => k,
        Ok(None) => {
            driver.problem = Some(format!(
                "{key_path} disappeared while it was being read; run the command again"
            ));
            return driver;
        }
        Err(code) => {
            driver.problem = Some(format!(
                "cannot open {key_path}: {code}; check that your account may read it"
            ));
            return driver;
        }
    };
    let fix = driver.fix();
    match reg::string(&key, "CLSID").map_err(Win32Error) {
        Ok(Some(text)) => match Guid::parse(text.trim()) {
            Some(g) => driver.clsid = Some(g),
            None => problems.push(format!(
                "the CLSID value \"{text}\" is not a GUID of the form \
                 {{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}}: hosts cannot create this driver; {fix}"
            )),
        },
        Ok(None) => problems.push(format!(
            "{key_path} has no CLSID value: hosts cannot create this driver; {fix}"
        )),
        Err(code) => problems.push(format!(
            "cannot read the CLSID value of {key_path} (it must be a string, REG_SZ): {code}; {fix}"
        )),
    }
    match reg::string(&key, "Description").map_err(Win32Error) {
        Ok(Some(d)) => driver.description = Some(d),
        Ok(None) => problems.push(format!(
            "{key_path} has no Description value (hosts built on the ASIO SDK then list the \
             key name; harmless)"
        )),
        Err(code) => problems.push(format!(
            "cannot read the Description value of {key_path} (it must be a string, REG_SZ): \
             {code}"
        )),
    }
    if let Some(clsid) = driver.clsid {
        let fix = driver.fix();
        let server = format!(r"CLSID\{clsid}\InprocServer32");
        let read = |k: Key| reg::string(&k, "").map_err(Win32Error);
        match reg::open(CLASSES_ROOT, &server, false, View::Own)
            .map_err(Win32Error)
            .map(|k| k.map(read))
        {
            Ok(Some(Ok(Some(path)))) if !path.trim().is_empty() => {
                let path = PathBuf::from(path.trim());
                driver.dll_exists = path.is_file();
                if !driver.dll_exists {
                    problems.push(format!(
                        "the DLL {} does not exist: hosts skip this driver; {fix}",
                        path.display()
                    ));
                }
                let chars = path.as_os_str().len();
                if chars >= SDK_PATH_LIMIT {
                    problems.push(format!(
                        "the DLL path is {chars} characters long: some hosts check it with a \
                         {SDK_PATH_LIMIT}-character API and skip the driver; install it under \
                         a shorter path"
                    ));
                }
                driver.dll_path = Some(path);
            }
            Ok(Some(Ok(_))) => problems.push(format!(
                "HKEY_CLASSES_ROOT\\{server} has no DLL path (its default value is missing or \
                 empty): COM cannot load this driver; {fix}"
            )),
            Ok(Some(Err(code))) => problems.push(format!(
                "cannot read the default value of HKEY_CLASSES_ROOT\\{server}: {code}; {fix}"
            )),
            Ok(None) => problems.push(format!(
                "HKEY_CLASSES_ROOT\\{server} is missing: the driver's COM registration is \
                 incomplete, so hosts cannot load it; {fix}"
            )),
            Err(code) => problems.push(format!(
                "cannot open HKEY_CLASSES_ROOT\\{server}: {code}; {fix}"
            )),
        }
    }
    if !problems.is_empty() {
        driver.problem = Some(problems.join("; "));
    }
    driver
}

/// Finds a driver by name the way hosts match it: the key name, ignoring
/// case, or failing that the description (which SDK-based hosts list).
fn find<'a>(drivers: &'a [InstalledDriver], name: &str) -> Option<&'a InstalledDriver> {
    let wanted = name.trim().to_lowercase();
    drivers
        .iter()
        .find(|d| d.name.to_lowercase() == wanted)
        .or_else(|| {
            drivers.iter().find(|d| {
                d.description
                    .as_deref()
                    .is_some_and(|x| x.to_lowercase() == wanted)
            })
        })
}

/// The name and advice for an HRESULT from `CoCreateInstance`.
fn explain(hr: i32, driver: &InstalledDriver) -> (&'static str, String) {
    let fix = driver.fix();
    let clsid = driver.clsid.unwrap_or_default();
    let dll = driver.dll_path.as_ref().map_or_else(
        || "the driver's DLL".to_owned(),
        |p| p.display().to_string(),
    );
    let (meaning, advice) = match hr as u32 {
        0x8004_0154 => (
            "class not registered",
            format!(
                "HKEY_CLASSES_ROOT\\CLSID\\{clsid}\\InprocServer32 is missing, so the DLL \
                 registration is incomplete; {fix}"
            ),
        ),
        0x8007_007E | 0x8004_01F8 => (
            "module not found",
            format!("Windows could not load {dll} or a DLL it depends on; {fix}"),
        ),
        0x8007_00C1 => (
            "not a valid application for this architecture",
            format!(
                "{dll} is not built for this {}-bit process: a {}-bit host needs a {}-bit driver",
                usize::BITS,
                usize::BITS,
                usize::BITS
            ),
        ),
        0x8004_0111 => (
            "class not available",
            format!("{dll} does not provide the class {clsid} its registration names; {fix}"),
        ),
        0x8000_4002 => (
            "no such interface",
            "the driver refused its own CLSID as interface ID, which every ASIO host asks \
             for: the driver itself is at fault; report it to its vendor"
                .to_owned(),
        ),
        0x8007_0005 => (
            "access denied",
            format!("your account may not load {dll}; check the file's permissions"),
        ),
        0x8007_000E => (
            "out of memory",
            "close other programs and try again".to_owned(),
        ),
        0x8004_01F9 => (
            "error in the DLL",
            format!("{dll} is damaged or not a COM server; {fix}"),
        ),
        0x8004_01F0 => (
            "COM not initialised",
            "this thread has not initialised COM; this is a bug in the host".to_owned(),
        ),
        0 | 1 => (
            "no object returned",
            "the driver reported success but returned no object: the driver itself is at \
             fault; report it to its vendor"
                .to_owned(),
        ),
        _ => (
            "unrecognised failure",
            format!("the driver's DLL refused to create its object; {fix}"),
        ),
    };
    // Windows reports a missing DLL in several ways (Wine: access denied);
    // the registry already told us which it is.
    match &driver.dll_path {
        Some(p) if !driver.dll_exists && hr < 0 => (
            meaning,
            format!("the registered DLL {} does not exist; {fix}", p.display()),
        ),
        _ => (meaning, advice),
    }
}

/// Loads the ASIO driver registered as `name` (matched ignoring case, like
/// hosts; the description is tried when no key name matches) through COM.
///
/// COM is initialised on the calling thread as a single-threaded apartment
/// (`COINIT_APARTMENTTHREADED`), as most DAWs do: they call ASIO from their
/// UI thread, which is an STA, so drivers are tested in the setting they
/// meet. ASIO drivers register `ThreadingModel=Both`, so the object is
/// created directly in this apartment, without a proxy. If the thread was
/// already initialised as a multithreaded apartment (`RPC_E_CHANGED_MODE`)
/// that apartment is used instead; `S_FALSE` (already initialised) is fine.
/// COM stays initialised on this thread afterwards: the returned driver
/// must be released while COM is up and may outlive this call, so there is
/// no matching `CoUninitialize` (process exit tears COM down).
///
/// Call the driver from the thread that loaded it.
pub fn load(name: &str) -> Result<crate::Driver, LoadError> {
    let drivers = installed_drivers()?;
    let Some(driver) = find(&drivers, name) else {
        return Err(LoadError::NotFound {
            name: name.to_owned(),
            registered: drivers.iter().map(|d| d.name.clone()).collect(),
        });
    };
    let Some(clsid) = driver.clsid else {
        return Err(LoadError::Unusable {
            name: driver.name.clone(),
            problem: driver
                .problem
                .clone()
                .unwrap_or_else(|| "its registration has no CLSID".to_owned()),
        });
    };
    // SAFETY: a null reserved pointer and a valid COINIT flag.
    let hr = unsafe { CoInitializeEx(std::ptr::null(), COINIT_APARTMENTTHREADED as u32) };
    if hr != S_OK && hr != S_FALSE && hr != RPC_E_CHANGED_MODE {
        return Err(LoadError::ComInit { hresult: hr as u32 });
    }
    // The CLSID doubles as the IID: an ASIO quirk every host relies on.
    let guid = GUID::from_u128(clsid.to_u128());
    let mut object: *mut c_void = std::ptr::null_mut();
    // SAFETY: valid GUID pointers to locals, no aggregation, a valid
    // out-pointer; COM is initialised on this thread.
    let hr = unsafe {
        CoCreateInstance(
            &guid,
            std::ptr::null_mut(),
            CLSCTX_INPROC_SERVER,
            &guid,
            &mut object,
        )
    };
    let failed = |hr: i32| {
        let (meaning, advice) = explain(hr, driver);
        LoadError::Create {
            name: driver.name.clone(),
            clsid,
            hresult: hr as u32,
            meaning,
            advice,
        }
    };
    if hr < 0 {
        return Err(failed(hr));
    }
    // SAFETY: `CoCreateInstance` succeeded, so `object` is null or an
    // object whose one reference we now own, queried with the driver's
    // CLSID, which ASIO drivers answer with their IASIO interface (module
    // invariant).
    unsafe { crate::Driver::from_raw(object.cast()) }.ok_or_else(|| failed(hr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, description: Option<&str>) -> InstalledDriver {
        InstalledDriver {
            name: name.to_owned(),
            clsid: None,
            description: description.map(str::to_owned),
            dll_path: None,
            dll_exists: false,
            problem: None,
        }
    }

    #[test]
    fn find_matches_key_name_then_description_ignoring_case() {
        let list = [
            entry("Tenuto", Some("Tenuto ASIO Driver")),
            entry("ASIO4ALL v2", Some("ASIO4ALL v2")),
        ];
        assert_eq!(
            find(&list, "tenuto").map(|d| d.name.as_str()),
            Some("Tenuto")
        );
        assert_eq!(
            find(&list, "TENUTO asio driver").map(|d| d.name.as_str()),
            Some("Tenuto")
        );
        assert!(find(&list, "Realtek").is_none());
    }

    #[test]
    fn not_found_lists_registered_drivers() {
        let e = LoadError::NotFound {
            name: "X".into(),
            registered: vec!["A".into(), "B".into()],
        };
        assert!(e
            .to_string()
            .starts_with("no ASIO driver named \"X\" is registered; registered drivers: A, B"));
    }

    #[test]
    fn create_error_names_hresult_in_hex() {
        let mut d = entry("Tenuto", None);
        d.clsid = Some(tenuto_driver::CLSID_TENUTO);
        let (meaning, advice) = explain(0x8004_0154_u32 as i32, &d);
        let e = LoadError::Create {
            name: d.name.clone(),
            clsid: tenuto_driver::CLSID_TENUTO,
            hresult: 0x8004_0154,
            meaning,
            advice,
        };
        let s = e.to_string();
        assert!(
            s.contains("failed with 0x80040154 (class not registered)"),
            "{s}"
        );
        assert!(s.contains("tenuto register"), "{s}");
    }
}
