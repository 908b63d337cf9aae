//! The MMCSS service settings behind `tenuto mmcss status|disable|enable`.
//!
//! * [`status`] reads the service's start type
//!   (`HKLM\SYSTEM\CurrentControlSet\Services\MMCSS`, value `Start`), the
//!   `SystemProfile` values (`SystemResponsiveness`, `NoLazyMode`), the task
//!   list and the "Pro Audio" task's values, any backup Tenuto saved, and
//!   probes whether MMCSS accepts registrations. Missing keys (Wine, stripped
//!   systems) are reported as missing, not as errors.
//! * [`disable`] sets `Start` = 4 after saving the previous value under
//!   `HKLM\SOFTWARE\Tenuto\MmcssBackup` (value `Start`); [`enable`] restores
//!   it (2, automatic, when there is no backup) and deletes the backup. Both
//!   need administrator rights, are idempotent, and take effect after a
//!   restart.
//!
//! **Never called implicitly.** The driver never touches the service: it is
//! a system-wide change (every program's MMCSS threads lose their boost)
//! that only the user may make, through the CLI. With MMCSS disabled, hosts
//! should run their audio threads at manual/real-time priority instead
//! (DESIGN.md §1).
//!
//! The registry is read and written through `tenuto-win`, always in the
//! 64-bit view (the service settings are machine-wide, whatever the bitness of
//! the process); this module has no `unsafe`.

#![forbid(unsafe_code)]

use std::fmt;

use tenuto_win::registry::{self as reg, Type, View, LOCAL_MACHINE};
use tenuto_win::win32_meaning;

/// The MMCSS service key (under HKLM).
pub const SERVICE_KEY: &str = r"SYSTEM\CurrentControlSet\Services\MMCSS";
/// The MMCSS system profile key (under HKLM).
pub const PROFILE_KEY: &str =
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Multimedia\SystemProfile";
/// The MMCSS task list (under HKLM).
pub const TASKS_KEY: &str = super::mmcss::MMCSS_TASKS_KEY;
/// Where `disable` saves the previous `Start` (under HKLM).
pub const BACKUP_KEY: &str = r"SOFTWARE\Tenuto\MmcssBackup";
/// The parent of [`BACKUP_KEY`]; removed with the backup when left empty.
const BACKUP_PARENT: &str = r"SOFTWARE\Tenuto";
/// The task `status` probes and whose values it shows.
pub const PRO_AUDIO: &str = "Pro Audio";
/// `Start` value: disabled.
pub const START_DISABLED: u32 = 4;
/// `Start` value: automatic (Windows' default for MMCSS).
pub const START_AUTOMATIC: u32 = 2;

/// Why an MMCSS service operation failed; each says what the user can do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The caller is not elevated.
    #[error(
        "`tenuto mmcss {action}` changes the MMCSS service's start type (HKLM\\{SERVICE_KEY}, value Start) and needs administrator rights; nothing was changed — run it from an elevated prompt (\"Run as administrator\")"
    )]
    NotElevated {
        /// "disable" or "enable".
        action: &'static str,
    },
    /// The service key or its `Start` value is missing.
    #[error(
        "the MMCSS service is not installed: HKLM\\{SERVICE_KEY} {what}; nothing to {action} (every Windows since Vista has it; Wine has no MMCSS service)"
    )]
    ServiceMissing {
        /// "disable" or "enable".
        action: &'static str,
        /// What is missing.
        what: &'static str,
    },
    /// A registry call failed.
    #[error(
        "could not {op} HKLM\\{path}{value} (error {code}: {meaning}){hint}",
        value = if .value.is_empty() { String::new() } else { format!(", value \"{}\"", .value) },
        meaning = win32_meaning(*.code),
        hint = if *.code == 5 { " — run `tenuto mmcss` from an elevated prompt" } else { "" }
    )]
    Registry {
        /// What was being done ("read", "write", "open", "delete").
        op: &'static str,
        /// The key, relative to HKLM.
        path: String,
        /// The value name ("" for the key itself).
        value: String,
        /// The Win32 error.
        code: u32,
    },
}

fn reg_err(op: &'static str, path: &str, value: &str, code: u32) -> ServiceError {
    ServiceError::Registry {
        op,
        path: path.to_owned(),
        value: value.to_owned(),
        code,
    }
}

// ---------------------------------------------------------------------------
// Registry access

/// A registry value as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegValue {
    /// REG_DWORD.
    Dword(u32),
    /// REG_QWORD.
    Qword(u64),
    /// REG_SZ / REG_EXPAND_SZ.
    Str(String),
    /// REG_MULTI_SZ.
    MultiStr(Vec<String>),
    /// REG_BINARY.
    Binary(Vec<u8>),
    /// Any other type, by number and size.
    Other {
        /// The REG_* type.
        kind: u32,
        /// Data size, bytes.
        len: usize,
    },
}

impl RegValue {
    fn decode(value: &reg::Value) -> Self {
        let data: &[u8] = value;
        let words = || -> Vec<u16> {
            data.chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect()
        };
        match value.ty() {
            Type::U32 if data.len() >= 4 => {
                Self::Dword(u32::from_le_bytes([data[0], data[1], data[2], data[3]]))
            }
            Type::U64 if data.len() >= 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[..8]);
                Self::Qword(u64::from_le_bytes(b))
            }
            Type::String | Type::ExpandString => {
                let w = words();
                let end = w.iter().position(|&c| c == 0).unwrap_or(w.len());
                Self::Str(String::from_utf16_lossy(&w[..end]))
            }
            Type::MultiString => Self::MultiStr(
                words()
                    .split(|&c| c == 0)
                    .filter(|s| !s.is_empty())
                    .map(String::from_utf16_lossy)
                    .collect(),
            ),
            Type::Bytes => Self::Binary(data.to_vec()),
            other => Self::Other {
                kind: reg::type_number(other),
                len: data.len(),
            },
        }
    }

    /// The value as a DWORD, if it is one.
    pub fn as_dword(&self) -> Option<u32> {
        match self {
            Self::Dword(v) => Some(*v),
            _ => None,
        }
    }
}

impl fmt::Display for RegValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dword(v) => write!(f, "{v} (0x{v:x})"),
            Self::Qword(v) => write!(f, "{v} (0x{v:x})"),
            Self::Str(s) => write!(f, "\"{s}\""),
            Self::MultiStr(v) => write!(f, "{v:?}"),
            Self::Binary(b) => {
                f.write_str("hex:")?;
                for (i, byte) in b.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
            Self::Other { kind, len } => write!(f, "(type {kind}, {len} bytes)"),
        }
    }
}

/// An open HKLM key (64-bit view) and its path, for messages; closed on drop.
struct Key {
    key: reg::Key,
    path: String,
}

impl Key {
    /// Opens `HKLM\path`; `Ok(None)` when it does not exist.
    fn open(path: &str, write: bool) -> Result<Option<Self>, ServiceError> {
        match reg::open(LOCAL_MACHINE, path, write, View::Sixty4) {
            Ok(key) => Ok(key.map(|key| Self {
                key,
                path: path.to_owned(),
            })),
            Err(code) => Err(reg_err(
                if write { "open for writing" } else { "open" },
                path,
                "",
                code,
            )),
        }
    }

    /// Opens `HKLM\path` for writing, creating it if needed.
    fn create(path: &str) -> Result<Self, ServiceError> {
        reg::create(LOCAL_MACHINE, path, View::Sixty4)
            .map(|key| Self {
                key,
                path: path.to_owned(),
            })
            .map_err(|code| reg_err("create", path, "", code))
    }

    /// Reads a value; `Ok(None)` when it does not exist.
    fn value(&self, name: &str) -> Result<Option<RegValue>, ServiceError> {
        reg::value(&self.key, name)
            .map(|v| v.as_ref().map(RegValue::decode))
            .map_err(|code| reg_err("read", &self.path, name, code))
    }

    /// Reads a DWORD value; `Ok(None)` when missing or not a DWORD.
    fn dword(&self, name: &str) -> Result<Option<u32>, ServiceError> {
        Ok(self.value(name)?.and_then(|v| v.as_dword()))
    }

    /// (subkey count, value count).
    fn counts(&self) -> Result<(usize, usize), ServiceError> {
        reg::counts(&self.key).map_err(|code| reg_err("query", &self.path, "", code))
    }

    /// The names of the subkeys.
    fn subkeys(&self) -> Result<Vec<String>, ServiceError> {
        reg::subkeys(&self.key).map_err(|code| reg_err("query", &self.path, "", code))
    }

    /// Every value, in registry order.
    fn values(&self) -> Result<Vec<(String, RegValue)>, ServiceError> {
        reg::values(&self.key)
            .map(|values| {
                values
                    .iter()
                    .map(|(name, v)| (name.clone(), RegValue::decode(v)))
                    .collect()
            })
            .map_err(|code| reg_err("query", &self.path, "", code))
    }

    fn set_dword(&self, name: &str, value: u32) -> Result<(), ServiceError> {
        reg::set_dword(&self.key, name, value)
            .map_err(|code| reg_err("write", &self.path, name, code))
    }
}

/// Deletes `HKLM\path`, which the caller found empty; a missing key is fine.
fn delete_key(path: &str) -> Result<(), ServiceError> {
    reg::delete_tree_in(LOCAL_MACHINE, path, View::Sixty4)
        .map(drop)
        .map_err(|code| reg_err("delete", path, "", code))
}

fn delete_value(key: &Key, name: &str) -> Result<(), ServiceError> {
    reg::delete_value(&key.key, name)
        .map(drop)
        .map_err(|code| reg_err("delete", &key.path, name, code))
}

/// The registry's MMCSS task names; `Ok(vec![])` when the key is missing.
fn task_names() -> Result<Vec<String>, ServiceError> {
    match Key::open(TASKS_KEY, false)? {
        Some(k) => k.subkeys(),
        None => Ok(Vec::new()),
    }
}

// ---------------------------------------------------------------------------
// Status

/// Whether MMCSS accepted a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A scratch thread registered for "Pro Audio" and reverted.
    Accepted {
        /// The task index MMCSS returned.
        task_index: u32,
    },
    /// `AvSetMmThreadCharacteristicsW` failed with this error.
    Refused {
        /// `GetLastError()`.
        code: u32,
    },
    /// The scratch thread could not be run.
    NotRun(String),
}

/// What `tenuto mmcss status` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmcssStatus {
    /// Whether `HKLM\SYSTEM\CurrentControlSet\Services\MMCSS` exists.
    pub service_installed: bool,
    /// Its `Start`: 2 automatic, 3 manual, 4 disabled; `None` if missing.
    pub start: Option<u32>,
    /// Whether the SystemProfile key exists.
    pub profile_present: bool,
    /// `SystemResponsiveness` (% of CPU MMCSS keeps for background work).
    pub system_responsiveness: Option<u32>,
    /// `NoLazyMode`, if set.
    pub no_lazy_mode: Option<u32>,
    /// The MMCSS task names.
    pub tasks: Vec<String>,
    /// The "Pro Audio" task's values, in registry order; `None` if the
    /// task is missing.
    pub pro_audio: Option<Vec<(String, RegValue)>>,
    /// The `Start` value `disable` saved, if a backup exists.
    pub backup_start: Option<u32>,
    /// Whether MMCSS accepts registrations now.
    pub probe: Probe,
}

impl MmcssStatus {
    /// Whether the MMCSS service appears to be running: it accepted a
    /// registration *and* is installed (Wine's avrt accepts every
    /// registration without any service).
    pub fn running(&self) -> bool {
        self.service_installed && matches!(self.probe, Probe::Accepted { .. })
    }
}

/// Reads the MMCSS service's settings and probes it.
///
/// The probe: a scratch thread calls `AvSetMmThreadCharacteristicsW("Pro
/// Audio")` and, if that succeeds, `AvRevertMmThreadCharacteristics` at
/// once. Registration succeeds only while the service runs (a stopped or
/// disabled service gives error 1, ERROR_INVALID_FUNCTION), so this is a
/// direct, cheap check that needs no service-control rights. The scratch
/// thread is joined before this returns.
pub fn status() -> Result<MmcssStatus, ServiceError> {
    let service = Key::open(SERVICE_KEY, false)?;
    let start = match &service {
        Some(k) => k.dword("Start")?,
        None => None,
    };
    let profile = Key::open(PROFILE_KEY, false)?;
    let (system_responsiveness, no_lazy_mode) = match &profile {
        Some(k) => (k.dword("SystemResponsiveness")?, k.dword("NoLazyMode")?),
        None => (None, None),
    };
    let tasks = task_names()?;
    let pro_audio = match Key::open(&format!(r"{TASKS_KEY}\{PRO_AUDIO}"), false)? {
        Some(k) => Some(k.values()?),
        None => None,
    };
    let backup_start = match Key::open(BACKUP_KEY, false)? {
        Some(k) => k.dword("Start")?,
        None => None,
    };
    let probe = match std::thread::Builder::new()
        .name("tenuto-mmcss-probe".to_owned())
        .spawn(|| super::mmcss::probe(PRO_AUDIO))
    {
        Ok(handle) => match handle.join() {
            Ok(Ok(task_index)) => Probe::Accepted { task_index },
            Ok(Err(code)) => Probe::Refused { code },
            Err(_) => Probe::NotRun("the probe thread panicked".to_owned()),
        },
        Err(e) => Probe::NotRun(format!("could not start the probe thread: {e}")),
    };
    Ok(MmcssStatus {
        service_installed: service.is_some(),
        start,
        profile_present: profile.is_some(),
        system_responsiveness,
        no_lazy_mode,
        tasks,
        pro_audio,
        backup_start,
        probe,
    })
}

/// The meaning of a service `Start` value.
pub fn start_name(start: u32) -> &'static str {
    match start {
        0 => "boot",
        1 => "system",
        2 => "automatic",
        3 => "manual",
        4 => "disabled",
        _ => "unknown",
    }
}

impl fmt::Display for MmcssStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "MMCSS service (HKLM\\{SERVICE_KEY}):")?;
        match (self.service_installed, self.start) {
            (false, _) => writeln!(f, "  not installed (the key does not exist)")?,
            (true, None) => writeln!(f, "  Start: not set")?,
            (true, Some(s)) => writeln!(f, "  Start = {s} ({})", start_name(s))?,
        }
        match &self.probe {
            Probe::Accepted { task_index } => writeln!(
                f,
                "  probe: a scratch thread registered for \"{PRO_AUDIO}\" (task index {task_index}) and reverted"
            )?,
            Probe::Refused { code } => writeln!(
                f,
                "  probe: registering a scratch thread for \"{PRO_AUDIO}\" failed (error {code}: {})",
                win32_meaning(*code)
            )?,
            Probe::NotRun(why) => writeln!(f, "  probe: not run ({why})")?,
        }
        let verdict = match (self.running(), self.start, &self.probe) {
            (true, Some(START_DISABLED), _) => {
                "running now, disabled from the next restart (restart pending)"
            }
            (true, _, _) => "running",
            (false, _, Probe::Accepted { .. }) => {
                "no MMCSS service, yet avrt accepts registrations: this looks like Wine, whose avrt succeeds without changing any scheduling"
            }
            (false, Some(START_DISABLED), _) => "not running (disabled)",
            (false, _, Probe::NotRun(_)) => "unknown",
            (false, _, _) => "not running",
        };
        writeln!(f, "  state: {verdict}")?;
        writeln!(f, "MMCSS system profile (HKLM\\{PROFILE_KEY}):")?;
        if self.profile_present {
            match self.system_responsiveness {
                Some(v) => writeln!(
                    f,
                    "  SystemResponsiveness = {v} (% of CPU kept for background work; Windows default 20)"
                )?,
                None => writeln!(f, "  SystemResponsiveness: not set (Windows uses 20)")?,
            }
            match self.no_lazy_mode {
                Some(v) => writeln!(f, "  NoLazyMode = {v}")?,
                None => writeln!(f, "  NoLazyMode: not set")?,
            }
        } else {
            writeln!(f, "  not found (the key does not exist)")?;
        }
        if self.tasks.is_empty() {
            writeln!(f, "  tasks: none listed")?;
        } else {
            writeln!(f, "  tasks: {}", self.tasks.join(", "))?;
        }
        match &self.pro_audio {
            None => writeln!(f, "\"{PRO_AUDIO}\" task: not found")?,
            Some(values) => {
                writeln!(f, "\"{PRO_AUDIO}\" task:")?;
                if values.is_empty() {
                    writeln!(f, "  (no values)")?;
                }
                for (name, value) in values {
                    writeln!(f, "  {name} = {value}")?;
                }
            }
        }
        match self.backup_start {
            Some(s) => write!(
                f,
                "Tenuto backup (HKLM\\{BACKUP_KEY}): Start = {s} ({}), restored by `tenuto mmcss enable`",
                start_name(s)
            ),
            None => write!(f, "Tenuto backup: none"),
        }
    }
}

// ---------------------------------------------------------------------------
// Disable / enable

/// What `disable` or `enable` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `Start` was `previous`, is now 4; `previous` saved in the backup.
    Disabled {
        /// The `Start` value before.
        previous: u32,
    },
    /// `Start` already was 4; nothing changed.
    AlreadyDisabled {
        /// The saved value, if a backup exists.
        backup: Option<u32>,
    },
    /// `Start` was 4, is now `restored`; the backup is deleted.
    Enabled {
        /// The `Start` value written.
        restored: u32,
        /// Whether it came from the backup (else the Windows default, 2).
        from_backup: bool,
    },
    /// `Start` was not 4; nothing changed (a stale backup may have been
    /// removed).
    AlreadyEnabled {
        /// The current `Start`.
        start: u32,
        /// A backup from an earlier `disable` was found and removed.
        removed_stale_backup: bool,
    },
}

impl Change {
    /// Whether Windows must restart for the change to take effect.
    pub fn needs_restart(&self) -> bool {
        matches!(self, Self::Disabled { .. } | Self::Enabled { .. })
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled { previous } => write!(
                f,
                "MMCSS disabled: Start changed from {previous} ({}) to 4 (disabled); the previous value is saved in HKLM\\{BACKUP_KEY}. Restart Windows for this to take effect. Hosts that register their audio threads with MMCSS then run them at normal priority: set those hosts to real-time/high priority. `tenuto mmcss enable` undoes this.",
                start_name(*previous)
            ),
            Self::AlreadyDisabled { backup: Some(b) } => write!(
                f,
                "MMCSS is already disabled (Start = 4); nothing changed. `tenuto mmcss enable` will restore Start = {b} ({}). If Windows has not restarted since, MMCSS still runs until it does.",
                start_name(*b)
            ),
            Self::AlreadyDisabled { backup: None } => write!(
                f,
                "MMCSS is already disabled (Start = 4, not by Tenuto: no backup); nothing changed. `tenuto mmcss enable` would set Start = 2 (automatic)."
            ),
            Self::Enabled {
                restored,
                from_backup,
            } => write!(
                f,
                "MMCSS enabled: Start changed from 4 (disabled) to {restored} ({}){}. Restart Windows for this to take effect.",
                start_name(*restored),
                if *from_backup {
                    ", the value saved by `tenuto mmcss disable`; the backup is deleted"
                } else {
                    ", the Windows default (no Tenuto backup was found)"
                }
            ),
            Self::AlreadyEnabled {
                start,
                removed_stale_backup,
            } => write!(
                f,
                "MMCSS is not disabled (Start = {start} ({})); nothing changed.{}",
                start_name(*start),
                if *removed_stale_backup {
                    " A stale Tenuto backup was removed."
                } else {
                    ""
                }
            ),
        }
    }
}

fn service_start(action: &'static str) -> Result<(Key, u32), ServiceError> {
    let key = Key::open(SERVICE_KEY, true)?.ok_or(ServiceError::ServiceMissing {
        action,
        what: "does not exist",
    })?;
    let start = key.dword("Start")?.ok_or(ServiceError::ServiceMissing {
        action,
        what: "has no DWORD value Start",
    })?;
    Ok((key, start))
}

fn read_backup() -> Result<Option<u32>, ServiceError> {
    match Key::open(BACKUP_KEY, false)? {
        Some(k) => k.dword("Start"),
        None => Ok(None),
    }
}

/// Deletes the backup value and key, and `HKLM\SOFTWARE\Tenuto` if that is
/// left empty.
fn delete_backup() -> Result<(), ServiceError> {
    if let Some(k) = Key::open(BACKUP_KEY, true)? {
        delete_value(&k, "Start")?;
        let (subkeys, values) = k.counts()?;
        drop(k);
        if subkeys == 0 && values == 0 {
            delete_key(BACKUP_KEY)?;
        }
    }
    if let Some(parent) = Key::open(BACKUP_PARENT, false)? {
        let (subkeys, values) = parent.counts()?;
        drop(parent);
        if subkeys == 0 && values == 0 {
            delete_key(BACKUP_PARENT)?;
        }
    }
    Ok(())
}

/// Disables the MMCSS service from the next restart: saves `Start` in
/// `HKLM\SOFTWARE\Tenuto\MmcssBackup` and sets it to 4. Refused unless
/// `elevated` (pass [`is_elevated`]). Idempotent: an already disabled
/// service is left alone (and an existing backup kept). Never called by the
/// driver — only by `tenuto mmcss disable`.
pub fn disable(elevated: bool) -> Result<Change, ServiceError> {
    if !elevated {
        return Err(ServiceError::NotElevated { action: "disable" });
    }
    let (key, start) = service_start("disable")?;
    if start == START_DISABLED {
        return Ok(Change::AlreadyDisabled {
            backup: read_backup()?,
        });
    }
    Key::create(BACKUP_KEY)?.set_dword("Start", start)?;
    if let Err(e) = key.set_dword("Start", START_DISABLED) {
        // Leave no backup of a change that did not happen.
        let _ = delete_backup();
        return Err(e);
    }
    Ok(Change::Disabled { previous: start })
}

/// Re-enables the MMCSS service from the next restart: restores the `Start`
/// saved by [`disable`] (2, automatic, without a valid backup) and deletes
/// the backup. Refused unless `elevated`. Idempotent: a service that is not
/// disabled is left alone. Never called by the driver — only by
/// `tenuto mmcss enable`.
pub fn enable(elevated: bool) -> Result<Change, ServiceError> {
    if !elevated {
        return Err(ServiceError::NotElevated { action: "enable" });
    }
    let (key, start) = service_start("enable")?;
    let backup = read_backup()?;
    if start != START_DISABLED {
        if backup.is_some() {
            delete_backup()?;
        }
        return Ok(Change::AlreadyEnabled {
            start,
            removed_stale_backup: backup.is_some(),
        });
    }
    // Only boot..manual make sense to restore; anything else (a backup of
    // 4, a corrupted value) gives the Windows default.
    let (restored, from_backup) = match backup {
        Some(b) if b < START_DISABLED => (b, true),
        _ => (START_AUTOMATIC, false),
    };
    key.set_dword("Start", restored)?;
    delete_backup()?;
    Ok(Change::Enabled {
        restored,
        from_backup,
    })
}

/// Whether this process runs elevated (administrator): the token's
/// `TokenElevation`. What the CLI passes to [`disable`] and [`enable`].
pub fn is_elevated() -> bool {
    tenuto_win::is_elevated()
}
