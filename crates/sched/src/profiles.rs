//! Which scheduling a host (DAW) should get.
//!
//! The driver's choice should match the DAW's own (DESIGN.md §1): if the
//! DAW registers its audio threads with MMCSS, so should the driver thread;
//! if it raises them with `SetThreadPriority`, MMCSS registration of the
//! driver thread puts it in a different regime (periodically demoted) than
//! the threads it feeds. Three sources decide, in order:
//!
//! 1. a profile the user set for this host executable;
//! 2. a built-in profile for DAWs whose behaviour is known;
//! 3. **Auto**: the priorities the host's other threads have right now.
//!
//! Every [`Decision`] carries its reason, for diagnostics and the panel.
//! All of this is pure logic over its inputs (the executable name, a
//! snapshot of thread priorities), so it is tested with recorded
//! snapshots; gathering the snapshot is the Windows module's job.

use serde::{Deserialize, Serialize};

use crate::policy::{AvrtPriority, ThreadLevel, WindowsPolicy};

/// DAWs with a known habit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostKind {
    /// Steinberg Cubase.
    Cubase,
    /// Steinberg Nuendo.
    Nuendo,
    /// Avid Pro Tools.
    ProTools,
    /// Cockos REAPER.
    Reaper,
    /// Anything else, by executable file name.
    Other(String),
}

/// Recognises a host from its executable's file name (case-insensitive;
/// a full path is accepted).
pub fn identify(executable: &str) -> HostKind {
    let name = executable
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(executable)
        .to_ascii_lowercase();
    let stem = name.strip_suffix(".exe").unwrap_or(&name);
    if stem.starts_with("cubase") {
        HostKind::Cubase
    } else if stem.starts_with("nuendo") {
        HostKind::Nuendo
    } else if stem == "protools" || stem == "pro tools" {
        HostKind::ProTools
    } else if stem == "reaper" || stem == "reaper64" {
        HostKind::Reaper
    } else {
        HostKind::Other(name)
    }
}

/// Where a decision came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// The user's profile for this executable.
    UserProfile,
    /// The built-in profile for a known DAW.
    BuiltIn,
    /// Inferred from the host's threads.
    Auto,
    /// Nothing applied: the general default.
    Default,
}

/// The policy chosen for a host, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The policy to apply.
    pub policy: WindowsPolicy,
    /// Where it came from.
    pub source: Source,
    /// One sentence for the user.
    pub reason: String,
}

fn mmcss() -> WindowsPolicy {
    WindowsPolicy::Mmcss {
        task: "Pro Audio".to_owned(),
        priority: AvrtPriority::Critical,
    }
}

fn manual() -> WindowsPolicy {
    WindowsPolicy::Manual {
        level: ThreadLevel::TimeCritical,
        process_class: None,
    }
}

/// The built-in profile for `kind`, if its behaviour is known.
pub fn built_in(kind: &HostKind) -> Option<Decision> {
    let (policy, reason) = match kind {
        HostKind::Cubase | HostKind::Nuendo => (
            mmcss(),
            "Cubase and Nuendo register their audio threads with MMCSS, so the driver \
             thread does too (Pro Audio, CRITICAL)",
        ),
        HostKind::ProTools => (
            manual(),
            "Pro Tools raises its threads with SetThreadPriority rather than MMCSS, so the \
             driver thread uses manual priority (TIME_CRITICAL, base priority 15)",
        ),
        HostKind::Reaper => (
            mmcss(),
            "REAPER lets the user choose MMCSS or not; Tenuto cannot read that setting yet, \
             so it uses MMCSS (Pro Audio, CRITICAL) — set a profile for reaper.exe if you \
             turned MMCSS off in REAPER",
        ),
        HostKind::Other(_) => return None,
    };
    Some(Decision {
        policy,
        source: Source::BuiltIn,
        reason: reason.to_owned(),
    })
}

/// One thread of the host process, as a snapshot saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadObservation {
    /// Current (dynamic) priority, 1–31.
    pub priority: i32,
    /// Base priority, 1–31.
    pub base_priority: i32,
}

impl ThreadObservation {
    /// Raised above its base into MMCSS's bands: MMCSS boosts the current
    /// priority (to 23–26 for Pro Audio) while the base stays ordinary.
    pub fn looks_mmcss_boosted(&self) -> bool {
        self.priority >= 16 && self.base_priority < 16 && self.priority > self.base_priority
    }

    /// Set to TIME_CRITICAL by the host: base 15 (normal or high class) or
    /// 31 (realtime class).
    pub fn looks_time_critical(&self) -> bool {
        self.base_priority == 15 || self.base_priority == 31
    }
}

/// The Auto decision from a snapshot of the host's other threads.
pub fn auto(threads: &[ThreadObservation]) -> Decision {
    let boosted = threads.iter().filter(|t| t.looks_mmcss_boosted()).count();
    let critical: Vec<_> = threads.iter().filter(|t| t.looks_time_critical()).collect();
    let n = threads.len();
    if boosted > 0 {
        Decision {
            policy: mmcss(),
            source: Source::Auto,
            reason: format!(
                "{boosted} of the host's {n} threads run in MMCSS's bands (priority 16–26 above \
                 a normal base): the host uses MMCSS, so the driver thread does too"
            ),
        }
    } else if let Some(first) = critical.first() {
        let realtime = critical.iter().any(|t| t.base_priority == 31);
        Decision {
            policy: manual(),
            source: Source::Auto,
            reason: format!(
                "{} of the host's {n} threads are TIME_CRITICAL (base priority {}){}: the host \
                 manages priorities itself, so the driver thread uses manual TIME_CRITICAL",
                critical.len(),
                first.base_priority,
                if realtime {
                    " in a REALTIME-class process, so the driver thread gets base priority 31"
                } else {
                    ""
                }
            ),
        }
    } else {
        Decision {
            policy: mmcss(),
            source: Source::Auto,
            reason: format!(
                "none of the host's {n} threads is raised (no MMCSS boost, no TIME_CRITICAL): \
                 the driver thread uses MMCSS Pro Audio, the ASIO 2.3 recommendation"
            ),
        }
    }
}

/// What the user set for a host executable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfileSetting {
    /// Use this policy.
    Policy(WindowsPolicy),
    /// Decide from the host's threads at start.
    Auto,
}

/// Decides for `executable`: the user's profile first, then a built-in
/// one, then Auto (when a snapshot is given), else the default policy.
pub fn decide(
    executable: &str,
    user_profile: Option<&ProfileSetting>,
    snapshot: Option<&[ThreadObservation]>,
    default: &WindowsPolicy,
) -> Decision {
    let kind = identify(executable);
    match user_profile {
        Some(ProfileSetting::Policy(p)) => {
            return Decision {
                policy: p.clone(),
                source: Source::UserProfile,
                reason: format!("your profile for {executable}"),
            };
        }
        Some(ProfileSetting::Auto) => {
            if let Some(threads) = snapshot {
                return auto(threads);
            }
        }
        None => {
            if let Some(d) = built_in(&kind) {
                return d;
            }
            if let Some(threads) = snapshot {
                return auto(threads);
            }
        }
    }
    Decision {
        policy: default.clone(),
        source: Source::Default,
        reason: "no profile for this host and no thread snapshot: the configured default"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(priority: i32, base_priority: i32) -> ThreadObservation {
        ThreadObservation {
            priority,
            base_priority,
        }
    }

    #[test]
    fn hosts_are_recognised_by_executable() {
        assert_eq!(
            identify(r"C:\Program Files\Steinberg\Cubase 13\Cubase13.exe"),
            HostKind::Cubase
        );
        assert_eq!(identify("NUENDO12.EXE"), HostKind::Nuendo);
        assert_eq!(
            identify(r"C:\Program Files\Avid\Pro Tools\ProTools.exe"),
            HostKind::ProTools
        );
        assert_eq!(identify("reaper.exe"), HostKind::Reaper);
        assert_eq!(
            identify("Ableton Live 12 Suite.exe"),
            HostKind::Other("ableton live 12 suite.exe".into())
        );
    }

    #[test]
    fn built_in_profiles_follow_each_daw() {
        assert!(matches!(
            built_in(&HostKind::Cubase).unwrap().policy,
            WindowsPolicy::Mmcss { .. }
        ));
        assert!(matches!(
            built_in(&HostKind::ProTools).unwrap().policy,
            WindowsPolicy::Manual {
                level: ThreadLevel::TimeCritical,
                process_class: None
            }
        ));
        assert!(built_in(&HostKind::Other("x.exe".into())).is_none());
    }

    // Snapshots shaped like the DAWs described in DESIGN.md §1.
    #[test]
    fn auto_sees_an_mmcss_host() {
        let cubase_like = [t(8, 8), t(10, 8), t(26, 8), t(25, 8), t(9, 8)];
        let d = auto(&cubase_like);
        assert!(matches!(d.policy, WindowsPolicy::Mmcss { .. }), "{d:?}");
        assert!(d.reason.contains("2 of the host's 5"), "{}", d.reason);
    }

    #[test]
    fn auto_sees_a_time_critical_host() {
        let protools_like = [t(8, 8), t(15, 15), t(15, 15), t(10, 9)];
        let d = auto(&protools_like);
        assert!(matches!(d.policy, WindowsPolicy::Manual { .. }), "{d:?}");
        let realtime = [t(31, 31), t(24, 24)];
        assert!(auto(&realtime).reason.contains("base priority 31"));
    }

    #[test]
    fn auto_defaults_to_mmcss_for_a_plain_host() {
        let plain = [t(8, 8), t(9, 8), t(10, 10)];
        let d = auto(&plain);
        assert!(matches!(d.policy, WindowsPolicy::Mmcss { .. }));
        assert!(d.reason.contains("ASIO 2.3"));
        assert!(matches!(auto(&[]).policy, WindowsPolicy::Mmcss { .. }));
    }

    #[test]
    fn the_user_profile_wins_then_built_in_then_auto() {
        let default = WindowsPolicy::Inherit;
        let mine = ProfileSetting::Policy(WindowsPolicy::Inherit);
        let snapshot = [t(15, 15)];
        let d = decide("Cubase13.exe", Some(&mine), Some(&snapshot), &default);
        assert_eq!(
            (d.policy, d.source),
            (WindowsPolicy::Inherit, Source::UserProfile)
        );
        let d = decide("Cubase13.exe", None, Some(&snapshot), &default);
        assert_eq!(d.source, Source::BuiltIn);
        let d = decide(
            "Cubase13.exe",
            Some(&ProfileSetting::Auto),
            Some(&snapshot),
            &default,
        );
        assert_eq!(d.source, Source::Auto);
        assert!(matches!(d.policy, WindowsPolicy::Manual { .. }));
        let d = decide("Bitwig Studio.exe", None, None, &default);
        assert_eq!(
            (d.policy, d.source),
            (WindowsPolicy::Inherit, Source::Default)
        );
    }
}
