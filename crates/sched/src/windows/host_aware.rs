//! The policy the DLL gives its driver thread: the user's scheduling
//! choice, adjusted to the host process it is loaded into (per-DAW
//! profiles, or Auto from the host's own threads), plus a 1 ms timer
//! resolution while streaming when the backend waits on timers.
//!
//! Everything here runs in `apply`, on the driver thread before the first
//! period — never inside the period loop.

use tenuto_engine::host::{AppliedPolicy, PrioritySample, ThreadPolicy};

use super::apply::{AppliedWindowsPolicy, WindowsThreadPolicy};
use super::readback::{current_priority, thread_priority_snapshot};
use super::timer::{timer_resolution_guard, TimerResolution};
use crate::policy::Scheduling;
use crate::profiles::{self, Decision, ProfileSetting, ThreadObservation};

/// A scheduling choice that follows the host it runs in.
#[derive(Debug, Clone)]
pub struct HostAwarePolicy {
    scheduling: Scheduling,
    /// Per-executable profiles the user set (file name, lower case).
    profiles: Vec<(String, ProfileSetting)>,
    /// Request this timer resolution (ms) while streaming.
    timer_resolution_ms: Option<u32>,
    /// The profile for hosts without one of their own (e.g. Auto).
    default_profile: Option<ProfileSetting>,
}

impl HostAwarePolicy {
    /// `scheduling` is the default for hosts without a profile.
    pub fn new(scheduling: Scheduling) -> Self {
        Self {
            scheduling,
            profiles: Vec::new(),
            timer_resolution_ms: None,
            default_profile: None,
        }
    }

    /// The profile for hosts the user set none for (e.g. Auto everywhere),
    /// taking precedence over the built-in ones.
    pub fn with_default_profile(mut self, setting: ProfileSetting) -> Self {
        self.default_profile = Some(setting);
        self
    }

    /// Adds the user's profile for an executable (file name).
    pub fn with_profile(mut self, executable: &str, setting: ProfileSetting) -> Self {
        self.profiles
            .push((executable.to_ascii_lowercase(), setting));
        self
    }

    /// Asks for `ms` timer resolution while streaming (for backends that
    /// wait on timers, like the virtual device).
    pub fn with_timer_resolution(mut self, ms: u32) -> Self {
        self.timer_resolution_ms = Some(ms);
        self
    }

    /// The decision for the current process, as `apply` would make it.
    pub fn decide(&self) -> (String, Decision) {
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "unknown.exe".to_owned());
        let lower = exe.to_ascii_lowercase();
        let own = self
            .profiles
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, s)| s);
        // The settings' mode for hosts without a profile of their own.
        if let (None, Some(ProfileSetting::Policy(policy))) = (own, &self.default_profile) {
            return (
                exe,
                Decision {
                    policy: policy.clone(),
                    source: profiles::Source::Default,
                    reason: "the scheduling mode in the settings (no profile for this host)"
                        .to_owned(),
                },
            );
        }
        let profile = own.or(self.default_profile.as_ref());
        // The host's other threads, as they are right now.
        let me = current_priority().ok().map(|t| t.tid);
        let snapshot: Vec<ThreadObservation> = thread_priority_snapshot(std::process::id())
            .into_iter()
            .filter(|t| Some(t.tid) != me)
            .map(|t| ThreadObservation {
                priority: t.priority,
                base_priority: t.base_priority,
            })
            .collect();
        let decision = profiles::decide(&exe, profile, Some(&snapshot), &self.scheduling.windows);
        (exe, decision)
    }
}

/// The applied policy: the decision, the Windows policy in effect, and
/// the timer resolution held while streaming.
pub struct HostAwareApplied {
    description: String,
    inner: AppliedWindowsPolicy,
    _timer: Option<TimerResolution>,
}

impl AppliedPolicy for HostAwareApplied {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn sample(&mut self) -> Option<PrioritySample> {
        self.inner.sample()
    }

    fn is_demoted(&self, sample: &PrioritySample) -> bool {
        self.inner.is_demoted(sample)
    }
}

impl ThreadPolicy for HostAwarePolicy {
    fn apply(&self) -> Box<dyn AppliedPolicy> {
        let (exe, decision) = self.decide();
        let scheduling = Scheduling {
            windows: decision.policy.clone(),
            ..self.scheduling.clone()
        };
        let inner = WindowsThreadPolicy::new(&scheduling).apply_here();
        let timer = self
            .timer_resolution_ms
            .and_then(|ms| timer_resolution_guard(ms).ok());
        let description = format!(
            "{} [{exe}: {:?} — {}]{}",
            inner.describe(),
            decision.source,
            decision.reason,
            match (self.timer_resolution_ms, &timer) {
                (Some(ms), Some(_)) => format!("; timer resolution {ms} ms while streaming"),
                (Some(ms), None) => format!("; timer resolution {ms} ms refused"),
                _ => String::new(),
            }
        );
        Box::new(HostAwareApplied {
            description,
            inner,
            _timer: timer,
        })
    }
}
