//! Device changes: what Windows reports through `IMMNotificationClient` (the listener itself
//! lives in `com`), and which of those reports concern a running device (portable, so that
//! the decision is tested everywhere).
//!
//! A change that concerns the device becomes a [`DeviceChange`]; the driver turns it into
//! `kAsioResetRequest`, and the host's next `init()` looks at the hardware again
//! (`Device::refresh`).

use std::fmt;
use std::sync::Arc;

use crate::endpoint::{Direction, EndpointState};

/// Called (on a thread of Windows' choosing) when a device change concerns the device.
pub type ChangeHandler = Arc<dyn Fn(&DeviceChange) + Send + Sync>;

/// One report from Windows, as the listener receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointEvent {
    /// An endpoint became active, disabled, unplugged or not present.
    StateChanged {
        /// Endpoint ID.
        id: String,
        /// Its new state.
        state: EndpointState,
    },
    /// An endpoint was removed from the system.
    Removed {
        /// Endpoint ID.
        id: String,
    },
    /// Windows' default endpoint (console role) changed for one direction.
    DefaultChanged {
        /// Render or capture.
        direction: Direction,
        /// The new default, `None` when there is none left.
        id: Option<String>,
    },
    /// The shared-mode format of an endpoint changed (`PKEY_AudioEngine_DeviceFormat`).
    FormatChanged {
        /// Endpoint ID.
        id: String,
    },
}

/// A change that concerns the running device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChange {
    /// An endpoint in use was removed, disabled or unplugged.
    Lost {
        /// Render or capture.
        direction: Direction,
        /// Its friendly name.
        name: String,
        /// Its new state (`NotPresent` when removed).
        state: EndpointState,
    },
    /// The device follows Windows' default for this direction, and the default changed.
    DefaultChanged {
        /// Render or capture.
        direction: Direction,
    },
    /// The shared-mode format of an endpoint in use changed.
    FormatChanged {
        /// Render or capture.
        direction: Direction,
        /// Its friendly name.
        name: String,
    },
    /// Windows disconnected the stream's audio session (`IAudioSessionEvents`).
    SessionLost {
        /// Render or capture.
        direction: Direction,
        /// Its friendly name.
        name: String,
        /// Why.
        reason: SessionLoss,
    },
}

/// Why Windows disconnected an audio session (`AudioSessionDisconnectReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLoss {
    /// The device was removed.
    DeviceRemoved,
    /// The Windows audio service stopped.
    ServerShutdown,
    /// The shared-mode format changed.
    FormatChanged,
    /// The user logged off.
    Logoff,
    /// The session was disconnected (e.g. a remote desktop session).
    Disconnected,
    /// Another application opened the device in exclusive mode.
    ExclusiveTakeover,
    /// A reason Windows did not document when this was written.
    Other(i32),
}

impl SessionLoss {
    /// From `AudioSessionDisconnectReason`'s value.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => Self::DeviceRemoved,
            1 => Self::ServerShutdown,
            2 => Self::FormatChanged,
            3 => Self::Logoff,
            4 => Self::Disconnected,
            5 => Self::ExclusiveTakeover,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for SessionLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DeviceRemoved => f.write_str("the device was removed"),
            Self::ServerShutdown => f.write_str("the Windows Audio service stopped"),
            Self::FormatChanged => f.write_str("its format was changed in Sound settings"),
            Self::Logoff => f.write_str("the user logged off"),
            Self::Disconnected => f.write_str("the Windows session was disconnected"),
            Self::ExclusiveTakeover => f.write_str(
                "another application took it in exclusive mode (to prevent that, untick \
                 \"Allow applications to take exclusive control of this device\" on the \
                 Advanced tab of its properties in Sound settings)",
            ),
            Self::Other(code) => write!(f, "Windows gave reason {code}"),
        }
    }
}

impl fmt::Display for DeviceChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lost {
                direction,
                name,
                state,
            } => write!(f, "the {} \"{name}\" is now {state}", direction.noun()),
            Self::DefaultChanged { direction } => {
                write!(f, "Windows' default {} changed", direction.noun())
            }
            Self::FormatChanged { direction, name } => write!(
                f,
                "the format of the {} \"{name}\" changed in Windows' Sound settings",
                direction.noun()
            ),
            Self::SessionLost {
                direction,
                name,
                reason,
            } => write!(
                f,
                "Windows disconnected the {} \"{name}\": {reason}",
                direction.noun()
            ),
        }
    }
}

/// One endpoint a device uses, and whether it was chosen as "Windows' default".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    /// Render or capture.
    pub direction: Direction,
    /// The endpoint ID in use.
    pub id: String,
    /// Its friendly name.
    pub name: String,
    /// Chosen as the default (so a new default means a different device).
    pub follows_default: bool,
}

/// Whether `event` concerns a device using `watched`; the change if so.
pub fn concerns(watched: &[Watched], event: &EndpointEvent) -> Option<DeviceChange> {
    match event {
        EndpointEvent::StateChanged { id, state } if *state != EndpointState::Active => {
            let w = watched.iter().find(|w| w.id == *id)?;
            Some(DeviceChange::Lost {
                direction: w.direction,
                name: w.name.clone(),
                state: *state,
            })
        }
        EndpointEvent::StateChanged { .. } => None,
        EndpointEvent::Removed { id } => {
            let w = watched.iter().find(|w| w.id == *id)?;
            Some(DeviceChange::Lost {
                direction: w.direction,
                name: w.name.clone(),
                state: EndpointState::NotPresent,
            })
        }
        EndpointEvent::DefaultChanged { direction, id } => {
            let w = watched
                .iter()
                .find(|w| w.direction == *direction && w.follows_default)?;
            // Windows repeats the notification per role; only a different device matters.
            (id.as_deref() != Some(w.id.as_str())).then_some(DeviceChange::DefaultChanged {
                direction: *direction,
            })
        }
        EndpointEvent::FormatChanged { id } => {
            let w = watched.iter().find(|w| w.id == *id)?;
            Some(DeviceChange::FormatChanged {
                direction: w.direction,
                name: w.name.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watched() -> Vec<Watched> {
        vec![
            Watched {
                direction: Direction::Render,
                id: "out".into(),
                name: "Speakers".into(),
                follows_default: true,
            },
            Watched {
                direction: Direction::Capture,
                id: "in".into(),
                name: "Line In".into(),
                follows_default: false,
            },
        ]
    }

    #[test]
    fn session_disconnections_say_why() {
        assert_eq!(SessionLoss::from_code(5), SessionLoss::ExclusiveTakeover);
        assert_eq!(SessionLoss::from_code(0), SessionLoss::DeviceRemoved);
        assert_eq!(SessionLoss::from_code(9), SessionLoss::Other(9));
        let change = DeviceChange::SessionLost {
            direction: Direction::Render,
            name: "Speakers (USB Audio)".to_owned(),
            reason: SessionLoss::from_code(5),
        };
        let text = change.to_string();
        assert!(
            text.starts_with("Windows disconnected the output \"Speakers (USB Audio)\""),
            "{text}"
        );
        assert!(text.contains("exclusive mode"), "{text}");
        assert!(
            text.contains("Allow applications to take exclusive control"),
            "{text}"
        );
    }

    #[test]
    fn removal_or_unplugging_of_a_used_endpoint_is_a_loss() {
        let w = watched();
        let lost = concerns(
            &w,
            &EndpointEvent::StateChanged {
                id: "in".into(),
                state: EndpointState::Unplugged,
            },
        );
        assert_eq!(
            lost,
            Some(DeviceChange::Lost {
                direction: Direction::Capture,
                name: "Line In".into(),
                state: EndpointState::Unplugged
            })
        );
        assert!(lost.unwrap().to_string().contains("\"Line In\""));
        assert!(concerns(&w, &EndpointEvent::Removed { id: "out".into() }).is_some());
        // Other endpoints, or one becoming active, do not matter.
        assert_eq!(
            concerns(&w, &EndpointEvent::Removed { id: "other".into() }),
            None
        );
        assert_eq!(
            concerns(
                &w,
                &EndpointEvent::StateChanged {
                    id: "out".into(),
                    state: EndpointState::Active
                }
            ),
            None
        );
    }

    #[test]
    fn a_new_default_matters_only_to_a_direction_that_follows_it() {
        let w = watched();
        let render = |id: Option<&str>| EndpointEvent::DefaultChanged {
            direction: Direction::Render,
            id: id.map(str::to_owned),
        };
        assert_eq!(
            concerns(&w, &render(Some("usb"))),
            Some(DeviceChange::DefaultChanged {
                direction: Direction::Render
            })
        );
        assert_eq!(concerns(&w, &render(Some("out"))), None, "same device");
        assert!(concerns(&w, &render(None)).is_some(), "no default left");
        let capture = EndpointEvent::DefaultChanged {
            direction: Direction::Capture,
            id: Some("usb-mic".into()),
        };
        assert_eq!(concerns(&w, &capture), None, "input chosen by ID");
    }

    #[test]
    fn a_format_change_of_a_used_endpoint_matters() {
        let w = watched();
        assert_eq!(
            concerns(&w, &EndpointEvent::FormatChanged { id: "out".into() }),
            Some(DeviceChange::FormatChanged {
                direction: Direction::Render,
                name: "Speakers".into()
            })
        );
        assert_eq!(
            concerns(&w, &EndpointEvent::FormatChanged { id: "x".into() }),
            None
        );
    }
}
