//! [`endpoints`]: every render and capture endpoint with its state, default marker, mix
//! format and shared-mode periods.

use crate::com::{Apartment, Enumerator};
use crate::endpoint::{Direction, Endpoint, EndpointState};
use crate::error::WasapiError;

/// Lists every audio endpoint, render first, in Windows' order. Inactive endpoints are
/// listed too, without mix format or periods (they cannot be opened). Initialises COM for
/// the call when the thread has no apartment.
pub fn endpoints() -> Result<Vec<Endpoint>, WasapiError> {
    let _apartment = Apartment::enter()?;
    let enumerator = Enumerator::new()?;
    let mut out = Vec::new();
    for direction in [Direction::Render, Direction::Capture] {
        let default_id = enumerator.default_device(direction)?.map(|d| d.id);
        for device in enumerator.list(direction)? {
            let state = device.state()?;
            let (mix_format, shared_period_hns) = if state == EndpointState::Active {
                match device.activate() {
                    Ok(client) => (Some(client.mix_format()), client.device_period().ok()),
                    Err(_) => (None, None),
                }
            } else {
                (None, None)
            };
            out.push(Endpoint {
                is_default: default_id.as_deref() == Some(device.id.as_str()),
                id: device.id,
                name: device.name,
                direction,
                state,
                mix_format,
                shared_period_hns,
            });
        }
    }
    Ok(out)
}
