//! # tenuto-panel
//!
//! Tenuto's control panel: the settings window a DAW opens through the
//! driver's `controlPanel()` (and `tenuto panel` opens without a DAW). It
//! shows every setting of `tenuto.toml` with the right control, the live
//! status of the driver while a host streams, and saves changes atomically
//! through `tenuto-settings`; the driver's hot reload then asks the host
//! for a reset.
//!
//! * Native Win32 (`windows-sys`), no GUI framework: nothing heavy runs
//!   inside the DAW's process.
//! * [`open`] creates the window on its **own thread** with its own
//!   message loop and returns at once: the host's UI thread and audio are
//!   never blocked, and closing the window touches neither. The panel only
//!   reads the engine's lock-free [`Shared`] state.
//! * The Device group chooses the backend: WASAPI with its lists of output and
//!   input devices (Windows' audio endpoints, listed on the panel's thread when
//!   the window opens; a failure to list them is shown in the status line, and
//!   a device the file names that is not connected stays selectable), edited
//!   with Add / Remove / Up / Down, a device drop-down and a channels box for
//!   the selected entry ([`form::EndpointList`]), the clock source (Auto or one
//!   of the listed devices) and its mode, or the virtual device with its own
//!   options. Only the chosen backend's controls are enabled.
//! * At most one panel per process; opening it again brings it to the
//!   front.
//! * Per-monitor DPI aware on its own thread only (the host's awareness is
//!   untouched); laid out from measured text in the system's message font;
//!   keyboard navigable (Tab, mnemonics, Enter = Apply, Esc = Close).
//!
//! * The status area (while a host streams) also draws the driver thread's wake-up
//!   lateness histogram and its priority over the last half minute ([`graph`]), the small
//!   versions of what `tenuto monitor` shows.
//!
//! On other systems only the portable parts compile ([`form`], [`graph`], [`layout`]),
//! and [`open`] / [`run_standalone`] answer [`PanelError::Unsupported`].
//!
//! ## Unsafe
//! Only `win::sys` (the Win32 calls) contains `unsafe`; its header states
//! the invariant.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod form;
pub mod graph;
pub mod layout;
#[cfg(windows)]
mod win;

use std::path::PathBuf;
use std::sync::Arc;

use tenuto_engine::shared::Shared;

/// The window's title; tests find the window by it.
pub const TITLE: &str = "Tenuto ASIO Driver \u{2014} Settings";

/// What the panel works on.
pub struct PanelContext {
    /// The settings file to show and save (`tenuto_settings::default_path()`
    /// in the driver).
    pub settings_path: PathBuf,
    /// The host's executable file name (e.g. `"Cubase13.exe"`), for its
    /// per-host profile; `None` without a host.
    pub host_exe: Option<String>,
    /// The driver's live state, for the status section; `None` without a
    /// driver (`tenuto panel`).
    pub live: Option<Arc<Shared>>,
    /// Called on the panel's thread after Apply saved the file.
    pub on_apply: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for PanelContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PanelContext")
            .field("settings_path", &self.settings_path)
            .field("host_exe", &self.host_exe)
            .field("live", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

/// Why the panel could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PanelError {
    /// Not on Windows.
    #[error("the settings window needs Windows; use `tenuto config` or edit the settings file")]
    Unsupported,
    /// The panel's thread could not be started.
    #[error("could not start the settings window's thread (Windows error {0})")]
    Thread(u32),
    /// The window could not be created.
    #[error("could not create the settings window (Windows error {0})")]
    Window(u32),
}

/// Opens the settings window on its own thread and returns at once. If a
/// panel is already open in this process, brings it to the front instead.
pub fn open(ctx: PanelContext) -> Result<(), PanelError> {
    #[cfg(windows)]
    {
        win::open(ctx)
    }
    #[cfg(not(windows))]
    {
        let _ = ctx;
        Err(PanelError::Unsupported)
    }
}

/// Shows the settings window for `settings_path` on the calling thread and
/// returns when it is closed (`tenuto panel`). No live status.
pub fn run_standalone(settings_path: PathBuf) -> Result<(), PanelError> {
    #[cfg(windows)]
    {
        win::run_standalone(settings_path)
    }
    #[cfg(not(windows))]
    {
        let _ = settings_path;
        Err(PanelError::Unsupported)
    }
}

/// Reading the settings window back, for tests of a host that opened it
/// (the panel may live in another copy of this crate, inside the DLL: only
/// Win32 is shared).
#[cfg(windows)]
pub mod testing {
    pub use crate::win::sys::ControlState;

    /// The settings windows of this process (by [`crate::TITLE`]).
    pub fn windows() -> Vec<isize> {
        crate::win::sys::windows_titled(crate::TITLE)
    }

    /// What each control of the window shows, in tab order.
    pub fn controls(window: isize) -> Vec<ControlState> {
        crate::win::sys::controls_of(window)
    }

    /// The render and capture endpoints as the panel lists them (the window
    /// enumerates them the same way when it opens).
    pub fn devices() -> Result<(Vec<crate::form::Device>, Vec<crate::form::Device>), String> {
        crate::win::devices()
    }
}

/// Whether a panel is open (or opening) in this process.
pub fn is_open() -> bool {
    #[cfg(windows)]
    {
        win::is_open()
    }
    #[cfg(not(windows))]
    {
        false
    }
}
