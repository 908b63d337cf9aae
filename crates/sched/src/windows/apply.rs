//! Applying a [`Scheduling`] choice to the driver thread and reverting it:
//! [`WindowsThreadPolicy`] (the engine's [`ThreadPolicy`]) and its guard,
//! [`AppliedWindowsPolicy`], which also samples the thread's priority for
//! the engine's demotion check.

use std::fmt;
use std::marker::PhantomData;

use tenuto_engine::host::{AppliedPolicy, PrioritySample, ThreadPolicy};
use windows_sys::Win32::System::Threading::NORMAL_PRIORITY_CLASS;

use super::class::{current_class, raise_class, release_class, ClassOutcome};
use super::describe;
use super::error::SchedError;
use super::levels::{base_priority_in_class, REALTIME_RANGE_MIN};
use super::mmcss::{self, MmcssHandle};
use super::outcome::{ManualOutcome, Mode};
use super::sys;
use super::system::is_wine;
use super::throttling::{self, EcoQos};
use crate::policy::{
    MmcssFallback, ProcessClass, Scheduling, ThreadLevel, WindowsPolicy, MMCSS_EXHAUSTED_MAX,
};

/// How far below its expected base a manual thread may read before it
/// counts as demoted (the scheduler's own transient boosts/decays stay
/// within 2).
const MANUAL_DEMOTION_SLACK: i32 = 2;

/// The engine's [`ThreadPolicy`] on Windows, built from the user's
/// [`Scheduling`] (its `windows`, `mmcss_fallback` and `eco_qos_opt_out`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowsThreadPolicy {
    policy: WindowsPolicy,
    fallback: MmcssFallback,
    eco_qos_opt_out: bool,
}

impl From<&Scheduling> for WindowsThreadPolicy {
    fn from(s: &Scheduling) -> Self {
        Self::new(s)
    }
}

impl WindowsThreadPolicy {
    /// The Windows part of `scheduling`.
    pub fn new(scheduling: &Scheduling) -> Self {
        Self {
            policy: scheduling.windows.clone(),
            fallback: scheduling.mmcss_fallback,
            eco_qos_opt_out: scheduling.eco_qos_opt_out,
        }
    }

    /// The policy this applies.
    pub fn policy(&self) -> &WindowsPolicy {
        &self.policy
    }

    /// Applies the policy to the calling thread; the guard reverts it when
    /// dropped (on this thread). Like [`ThreadPolicy::apply`] with the
    /// concrete guard type, which tests and diagnostics can inspect.
    pub fn apply_here(&self) -> AppliedWindowsPolicy {
        self.apply_inner(None, None)
    }

    /// As [`apply_here`](Self::apply_here), but as if MMCSS had refused
    /// with `error` (the MMCSS call is not made): exercises the fallback
    /// where MMCSS always accepts (Wine). For tests and diagnostics.
    pub fn apply_simulating_mmcss_refusal(&self, error: u32) -> AppliedWindowsPolicy {
        self.apply_inner(Some(error), None)
    }

    /// As [`apply_here`](Self::apply_here), with the privilege check for a
    /// REALTIME class answered by `realtime_privilege` instead of the token.
    /// For tests and diagnostics.
    pub fn apply_with_privilege(&self, realtime_privilege: bool) -> AppliedWindowsPolicy {
        self.apply_inner(None, Some(realtime_privilege))
    }

    fn apply_inner(
        &self,
        simulated_refusal: Option<u32>,
        privilege: Option<bool>,
    ) -> AppliedWindowsPolicy {
        let mut g = AppliedWindowsPolicy {
            mode: Mode::Inherit,
            mmcss_handle: None,
            old_level: None,
            holds_class: false,
            eco: EcoQos::NotRequested,
            expected_base: None,
            wine: is_wine(),
            description: String::new(),
            _not_send: PhantomData,
        };
        match &self.policy {
            WindowsPolicy::Inherit => {}
            WindowsPolicy::Mmcss { task, priority } => {
                let registered = match simulated_refusal {
                    Some(code) => Err(code),
                    None => mmcss::register(task),
                };
                match registered {
                    Ok((handle, task_index)) => {
                        let priority_error =
                            handle
                                .set_priority(priority.avrt_value())
                                .err()
                                .map(|code| SchedError::MmcssPriority {
                                    priority: *priority,
                                    code,
                                });
                        g.mmcss_handle = Some(handle);
                        g.mode = Mode::Mmcss {
                            task: task.clone(),
                            priority: *priority,
                            task_index,
                            priority_error,
                        };
                    }
                    Err(code) => {
                        let known_tasks = if code == 1550 {
                            mmcss::mmcss_tasks()
                        } else {
                            Vec::new()
                        };
                        let refused = SchedError::MmcssRefused {
                            task: task.clone(),
                            code,
                            known_tasks,
                        };
                        let fallback = match self.fallback {
                            MmcssFallback::Inherit => None,
                            MmcssFallback::ManualTimeCritical => {
                                Some(g.apply_manual(ThreadLevel::TimeCritical, None, privilege))
                            }
                        };
                        g.mode = Mode::Refused {
                            task: task.clone(),
                            code,
                            error: refused,
                            fallback: fallback.map(Box::new),
                        };
                    }
                }
            }
            WindowsPolicy::Manual {
                level,
                process_class,
            } => {
                g.mode = Mode::Manual(g.apply_manual(*level, *process_class, privilege));
            }
        }
        if self.eco_qos_opt_out {
            g.eco = throttling::opt_out();
        }
        g.description = describe::describe(&g.mode, &g.eco, g.wine);
        g
    }
}

impl ThreadPolicy for WindowsThreadPolicy {
    fn apply(&self) -> Box<dyn AppliedPolicy> {
        Box::new(self.apply_here())
    }
}

/// A Windows policy in effect on the calling thread. Dropping it (on the
/// same thread — it is `!Send`) reverts the MMCSS registration, restores
/// the thread level and the process class, and lets the system decide
/// about power throttling again.
#[derive(Debug)]
pub struct AppliedWindowsPolicy {
    mode: Mode,
    mmcss_handle: Option<MmcssHandle>,
    old_level: Option<i32>,
    holds_class: bool,
    eco: EcoQos,
    expected_base: Option<i32>,
    wine: bool,
    description: String,
    _not_send: PhantomData<*const ()>,
}

impl AppliedWindowsPolicy {
    fn apply_manual(
        &mut self,
        level: ThreadLevel,
        class: Option<ProcessClass>,
        privilege: Option<bool>,
    ) -> ManualOutcome {
        let thread = match sys::thread_level() {
            Err(code) => Err(SchedError::ThreadPriorityQuery { code }),
            Ok(old) => match sys::set_thread_level(level.win32_value()) {
                Err(code) => Err(SchedError::ThreadPriority { level, code }),
                Ok(()) => {
                    self.old_level = Some(old);
                    Ok(())
                }
            },
        };
        let class_outcome = match class {
            None => ClassOutcome::NotRequested,
            Some(c) => raise_class(c, privilege),
        };
        if matches!(
            class_outcome,
            ClassOutcome::Raised { .. } | ClassOutcome::Downgraded { .. }
        ) {
            self.holds_class = true;
        }
        let effective_class = current_class().unwrap_or(NORMAL_PRIORITY_CLASS);
        let base_priority = base_priority_in_class(level, effective_class);
        let mut measured_base = None;
        if thread.is_ok() {
            measured_base = sys::current_thread_priorities().ok().map(|(_, base)| base);
            // What the thread really reads is the reference for demotions
            // (it differs from the rules only under Wine or when Windows
            // changed the class underneath).
            self.expected_base = Some(measured_base.unwrap_or(base_priority));
        }
        ManualOutcome {
            level,
            thread,
            class: class_outcome,
            effective_class,
            base_priority,
            measured_base,
        }
    }

    /// Whether the thread is registered with MMCSS.
    pub fn mmcss_registered(&self) -> bool {
        self.mmcss_handle.is_some()
    }

    /// The MMCSS task index of the registration.
    pub fn mmcss_task_index(&self) -> Option<u32> {
        match &self.mode {
            Mode::Mmcss { task_index, .. } => Some(*task_index),
            _ => None,
        }
    }

    /// Why MMCSS refused, when it did (the fallback is then in effect).
    pub fn mmcss_refusal(&self) -> Option<&SchedError> {
        match &self.mode {
            Mode::Refused { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The manual priority in effect (chosen, or the MMCSS fallback).
    pub fn manual(&self) -> Option<&ManualOutcome> {
        self.mode.manual()
    }

    /// What became of the EcoQoS opt-out.
    pub fn eco_qos(&self) -> &EcoQos {
        &self.eco
    }

    /// The base priority a manual policy should give the thread.
    pub fn expected_base_priority(&self) -> Option<i32> {
        self.expected_base
    }

    /// Reverts everything now (as dropping does) and reports the first
    /// failure; every step is attempted regardless.
    pub fn revert(mut self) -> Result<(), SchedError> {
        self.revert_all()
    }

    fn revert_all(&mut self) -> Result<(), SchedError> {
        let mut first: Option<SchedError> = None;
        let mut note = |r: Result<(), SchedError>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        // Reverse order of apply.
        if matches!(self.eco, EcoQos::OptedOut) {
            self.eco = EcoQos::NotRequested;
            note(throttling::revert());
        }
        if let Some(handle) = self.mmcss_handle.take() {
            note(
                handle
                    .revert()
                    .map_err(|code| SchedError::MmcssRevert { code }),
            );
        }
        if let Some(old) = self.old_level.take() {
            // The guard is !Send: this is the thread that was changed.
            note(
                sys::set_thread_level(old)
                    .map_err(|code| SchedError::ThreadPriorityRestore { level: old, code }),
            );
        }
        if std::mem::take(&mut self.holds_class) {
            note(release_class());
        }
        first.map_or(Ok(()), Err)
    }
}

impl AppliedPolicy for AppliedWindowsPolicy {
    fn describe(&self) -> String {
        self.description.clone()
    }

    /// The absolute current priority (`THREAD_BASIC_INFORMATION.Priority`)
    /// of the calling thread. One system call into a stack buffer: no
    /// allocation, no lock. (Under Wine this reads the relative level:
    /// 0 for a normal thread, 15 for TIME_CRITICAL.) Power throttling is
    /// not sampled: Windows exposes only the thread's throttling *request*
    /// ([`power_throttling_request`]), not whether its QoS heuristics
    /// currently slow the thread, so no late period is blamed on it.
    fn sample(&mut self) -> Option<PrioritySample> {
        let (priority, _) = sys::current_thread_priorities().ok()?;
        Some(PrioritySample {
            priority,
            realtime: priority >= REALTIME_RANGE_MIN,
        })
    }

    /// MMCSS-registered and in the exhausted band (≤ 7; never under Wine,
    /// whose avrt does nothing); or manual and more than 2 below the base
    /// priority the thread read right after the policy was applied.
    fn is_demoted(&self, sample: &PrioritySample) -> bool {
        if self.mmcss_handle.is_some() {
            // Under Wine registration changes nothing: no band to fall from.
            !self.wine && sample.priority <= MMCSS_EXHAUSTED_MAX
        } else if let Some(base) = self.expected_base {
            sample.priority < base - MANUAL_DEMOTION_SLACK
        } else {
            false
        }
    }
}

impl Drop for AppliedWindowsPolicy {
    fn drop(&mut self) {
        // Nothing can report a failure from a destructor; `revert` does.
        let _ = self.revert_all();
    }
}

impl fmt::Display for AppliedWindowsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}
