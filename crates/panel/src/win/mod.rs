//! The Windows side: one panel per process, on its own thread.

mod panel;
pub(crate) mod sys;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use tenuto_wasapi::Direction;

use crate::form::Device;
use crate::{PanelContext, PanelError};

/// Set while a panel exists or is being created (claimed by whoever opens
/// one, released when its window is gone).
static BUSY: AtomicBool = AtomicBool::new(false);
/// The open panel's window handle (0 until it exists).
static WINDOW: AtomicIsize = AtomicIsize::new(0);

pub(crate) fn is_open() -> bool {
    BUSY.load(Ordering::Acquire)
}

/// Releases the claim when dropped, whatever happened.
struct Claim;

impl Drop for Claim {
    fn drop(&mut self) {
        WINDOW.store(0, Ordering::Release);
        BUSY.store(false, Ordering::Release);
    }
}

fn claim() -> Option<Claim> {
    BUSY.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .ok()
        .map(|_| Claim)
}

fn bring_existing_to_front() {
    let raw = WINDOW.load(Ordering::Acquire);
    if raw != 0 {
        sys::bring_to_front(raw);
    }
    // Else it is still being created and will come up in front by itself.
}

/// The render and capture endpoints as the panel lists them (every state:
/// inactive ones only name a device the file chose that is not connected).
/// Call on the panel's thread; `tenuto_wasapi::endpoints` enters COM for the
/// call (or uses the thread's apartment) and leaves it again.
pub(crate) fn devices() -> Result<(Vec<Device>, Vec<Device>), String> {
    let all = tenuto_wasapi::endpoints().map_err(|e| e.to_string())?;
    let of = |direction| -> Vec<Device> {
        all.iter()
            .filter(|e| e.direction == direction)
            .map(Device::from_endpoint)
            .collect()
    };
    Ok((of(Direction::Render), of(Direction::Capture)))
}

/// Runs the panel on the calling thread until its window is closed.
fn run(ctx: PanelContext) -> Result<(), PanelError> {
    let _dpi = sys::DpiAwareness::per_monitor();
    let handler = Box::new(panel::Panel::new(ctx));
    sys::run_window(crate::TITLE, handler, |w| {
        WINDOW.store(w.to_raw(), Ordering::Release);
    })
    .map_err(PanelError::Window)
}

pub(crate) fn open(ctx: PanelContext) -> Result<(), PanelError> {
    let Some(claim) = claim() else {
        bring_existing_to_front();
        return Ok(());
    };
    sys::spawn_ui_thread(Box::new(move || {
        let _claim = claim;
        if let Err(e) = run(ctx) {
            eprintln!("tenuto panel: {e}");
        }
    }))
    .map_err(PanelError::Thread)
}

pub(crate) fn run_standalone(settings_path: PathBuf) -> Result<(), PanelError> {
    let Some(_claim) = claim() else {
        bring_existing_to_front();
        return Ok(());
    };
    run(PanelContext {
        settings_path,
        host_exe: None,
        live: None,
        on_apply: Box::new(|| {}),
    })
}
