//! Errors of the engine, each mapped to an ASIO error code and worded for
//! the person who will read it in their DAW's error dialog.

use asio_abi::{
    AsioError, ASE_HW_MALFUNCTION, ASE_INVALID_MODE, ASE_INVALID_PARAMETER, ASE_NOT_PRESENT,
    ASE_NO_CLOCK, ASE_NO_MEMORY, ASE_SP_NOT_ADVANCING,
};

use crate::device::{DeviceError, StreamError};

/// Why an ASIO call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// Called before `init()` succeeded.
    #[error("{call}() was called before init(); the host must call init() first")]
    NotInitialized {
        /// The ASIO method.
        call: &'static str,
    },
    /// Called in a state where it is not allowed.
    #[error("{call}() is not allowed while {state}; {hint}")]
    WrongState {
        /// The ASIO method.
        call: &'static str,
        /// The state the driver is in, in words.
        state: &'static str,
        /// What the host should do instead.
        hint: &'static str,
    },
    /// An argument was out of range or inconsistent.
    #[error("{call}(): {message}")]
    InvalidParameter {
        /// The ASIO method.
        call: &'static str,
        /// What was wrong, with the value.
        message: String,
    },
    /// A sample rate the device cannot run at.
    #[error("{0}")]
    NoClock(String),
    /// The sample position is not advancing (not streaming).
    #[error("getSamplePosition(): the driver is not streaming, so there is no sample position")]
    NotAdvancing,
    /// The device failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// Streaming stopped because of a device error.
    #[error("streaming stopped: {0}")]
    Stream(StreamError),
    /// Memory for the buffers could not be allocated.
    #[error("createBuffers(): could not allocate {bytes} bytes for the audio buffers")]
    NoMemory {
        /// How many bytes were asked for.
        bytes: usize,
    },
    /// A feature this driver does not offer.
    #[error("{0}")]
    Unsupported(String),
    /// The driver thread could not be created or ended abnormally.
    #[error("the driver's audio thread {0}")]
    Thread(String),
}

impl EngineError {
    /// The ASIO error code a host receives for this error.
    pub fn asio_code(&self) -> AsioError {
        match self {
            Self::NotInitialized { .. } => ASE_NOT_PRESENT,
            Self::WrongState { .. } => ASE_INVALID_MODE,
            Self::InvalidParameter { .. } => ASE_INVALID_PARAMETER,
            Self::NoClock(_) => ASE_NO_CLOCK,
            Self::NotAdvancing => ASE_SP_NOT_ADVANCING,
            Self::Device(DeviceError::UnsupportedRate { .. }) => ASE_NO_CLOCK,
            Self::Device(DeviceError::UnsupportedPeriod { .. }) => ASE_INVALID_PARAMETER,
            Self::Device(_) | Self::Stream(_) | Self::Thread(_) => ASE_HW_MALFUNCTION,
            Self::NoMemory { .. } => ASE_NO_MEMORY,
            Self::Unsupported(_) => ASE_NOT_PRESENT,
        }
    }

    pub(crate) fn invalid(call: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidParameter {
            call,
            message: message.into(),
        }
    }
}
