//! [`endpoints`]: every render and capture endpoint with its state, default marker, mix
//! format and shared-mode periods.

use crate::com::{Apartment, AudioClient, Enumerator};
use crate::endpoint::{Direction, Endpoint, EndpointState};
use crate::error::WasapiError;
use crate::format::{ExclusiveSample, EXCLUSIVE_RATES};

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
            let client = if state == EndpointState::Active {
                device.activate().ok()
            } else {
                None
            };
            let mix_format = client.as_ref().map(AudioClient::mix_format);
            let shared_period_hns = client.as_ref().and_then(|c| c.device_period().ok());
            let low_latency_frames = client
                .as_ref()
                .and_then(|c| c.engine_periods().ok().flatten())
                .map(|p| (p.min, p.max, p.fundamental));
            let exclusive_formats = client.as_ref().map_or_else(Vec::new, exclusive_offers);
            out.push(Endpoint {
                is_default: default_id.as_deref() == Some(device.id.as_str()),
                id: device.id,
                name: device.name,
                direction,
                state,
                mix_format,
                shared_period_hns,
                low_latency_frames,
                exclusive_formats,
            });
        }
    }
    Ok(out)
}

/// The sample types and rates the device takes in exclusive mode, with its channels and
/// speaker mask.
fn exclusive_offers(client: &AudioClient) -> Vec<(String, Vec<u32>)> {
    let mix = client.mix_format();
    ExclusiveSample::PREFERENCE
        .into_iter()
        .filter_map(|sample| {
            let rates: Vec<u32> = EXCLUSIVE_RATES
                .into_iter()
                .filter(|&r| {
                    client.supports_exclusive(&mix.with_sample(r, sample).extensible_bytes())
                })
                .collect();
            (!rates.is_empty()).then(|| (format!("{sample:?}"), rates))
        })
        .collect()
}
