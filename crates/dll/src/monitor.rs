//! The driver object's monitor thread (`tenuto-monitor`): publishes the object's live state
//! through shared memory for `tenuto monitor` and any other reader (see `tenuto_monitor`).
//!
//! Ten times a second it copies what the engine already keeps for other threads —
//! `Shared`'s atomics, counters and event store — into the object's published region. The
//! driver thread does nothing for it: the feeder reads the same atomics and the same
//! multi-reader event store (`Shared::events_after`) the log thread reads. Readers never
//! write to the region and the publisher never waits for them, so a monitor attached or not
//! makes no difference to the driver thread.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Weak;
use std::time::Duration;

use tenuto_engine::shared::Shared;
use tenuto_monitor::feed::{EngineView, Feeder};
use tenuto_monitor::{InstanceMeta, Publisher};

use crate::log::LineSender;

/// How often the state is published (the monitor redraws at the same pace).
const TICK: Duration = Duration::from_millis(100);

/// The engine's words for a state the feeder cannot tell from the atomics alone: buffers
/// exist but nothing streams (`State::from_engine_name` reads the prefix).
const PREPARED: &str = "prepared (buffers created, not streaming)";

/// Publishes one driver object; dropping it stops and joins the thread, whose publisher
/// then marks the instance closed and leaves the list (the object's last `Release` does
/// this, so no thread of ours outlives the object).
pub(crate) struct Monitor {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Monitor {
    /// Starts publishing the driver whose status is `shared`; `driver` says what drives it
    /// (backend, device) for the list of instances. A region that cannot be created means
    /// no monitor for this object: said in the log (`log`), never an error for the host.
    pub(crate) fn start(
        shared: Weak<Shared>,
        driver: String,
        log: Option<LineSender>,
    ) -> Option<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tenuto-monitor".to_owned())
            .spawn(move || {
                let mut publisher = match Publisher::create(&InstanceMeta::current(&driver)) {
                    Ok(p) => p,
                    Err(e) => {
                        if let Some(log) = log {
                            log.line(
                                "warn",
                                format!("monitor: not published ({e}); `tenuto monitor` will not list this driver"),
                            );
                        }
                        return;
                    }
                };
                let mut feeder = Feeder::new();
                loop {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    let buffer_size = shared.buffer_size();
                    let state_name = (buffer_size > 0 && !shared.is_streaming()).then_some(PREPARED);
                    feeder.tick(
                        &mut publisher,
                        &shared,
                        EngineView {
                            state_name,
                            buffer_size,
                        },
                    );
                    // Not held while waiting: the last `Release` drops the engine first.
                    drop(shared);
                    match stopped.recv_timeout(TICK) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .ok()?;
        Some(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What drives an object with `settings`, as the list of instances shows it.
pub(crate) fn driver_text(settings: &tenuto_settings::Settings) -> String {
    use tenuto_settings::BackendSetting;
    match settings.driver.backend {
        BackendSetting::Virtual => "virtual device".to_owned(),
        BackendSetting::Wasapi if cfg!(windows) => format!(
            "WASAPI {}: output {}, input {}",
            settings.wasapi.mode,
            tenuto_settings::endpoint_list_text(&settings.wasapi.output),
            tenuto_settings::endpoint_list_text(&settings.wasapi.input)
        ),
        BackendSetting::Wasapi => "virtual device (WASAPI needs Windows)".to_owned(),
    }
}
