//! `tenuto devices`: the audio endpoints WASAPI offers (Windows).

use std::process::ExitCode;

use clap::Args;

#[derive(Args, Debug)]
pub(crate) struct DevicesArgs {
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

#[cfg(not(windows))]
pub(crate) fn run(_args: &DevicesArgs) -> ExitCode {
    crate::windows_only::needs_windows(
        "devices",
        "audio endpoints are Windows' MMDevice API (WASAPI)",
    )
}

#[cfg(windows)]
pub(crate) fn run(args: &DevicesArgs) -> ExitCode {
    use tenuto_wasapi::{format_hns, Endpoint};
    let endpoints = match tenuto_wasapi::endpoints() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("tenuto devices: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        let list: Vec<serde_json::Value> = endpoints
            .iter()
            .map(|e: &Endpoint| {
                serde_json::json!({
                    "direction": e.direction.as_str(),
                    "default": e.is_default,
                    "name": e.name,
                    "id": e.id,
                    "state": e.state.as_str(),
                    "mix_format": e.mix_format.map(|f| serde_json::json!({
                        "rate": f.rate,
                        "channels": f.channels,
                        "bits": f.bits,
                        "valid_bits": f.valid_bits,
                        "float": f.float,
                        "channel_mask": f.channel_mask,
                        "channel_names": f.channel_names(),
                    })),
                    "shared_period_hns": e.shared_period_hns.map(|(default, minimum)| {
                        serde_json::json!({ "default": default, "minimum": minimum })
                    }),
                    "low_latency_frames": e.low_latency_frames.map(|(min, max, step)| {
                        serde_json::json!({ "minimum": min, "maximum": max, "step": step })
                    }),
                    "exclusive_formats": e.exclusive_formats.iter().map(|(sample, rates)| {
                        serde_json::json!({ "sample": sample, "rates": rates })
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if endpoints.is_empty() {
        println!("Windows reports no audio endpoints");
        return ExitCode::SUCCESS;
    }
    println!("(* = Windows' default device for that direction)");
    for e in &endpoints {
        println!(
            "{:<7} {} {}",
            e.direction.as_str(),
            if e.is_default { '*' } else { ' ' },
            e.name
        );
        println!("          id      {}", e.id);
        println!("          state   {}", e.state);
        if let Some(f) = e.mix_format {
            println!("          format  {f} ({})", f.channel_names().join(", "));
        }
        if let Some((default, minimum)) = e.shared_period_hns {
            println!(
                "          shared       engine period {} (exclusive minimum {})",
                format_hns(default),
                format_hns(minimum)
            );
        }
        if e.state == tenuto_wasapi::EndpointState::Active {
            match e.low_latency_frames {
                Some((min, max, step)) => println!(
                    "          low-latency  engine periods {min} to {max} frames in steps of {step}"
                ),
                None => println!("          low-latency  not offered (runs as shared)"),
            }
            if e.exclusive_formats.is_empty() {
                println!("          exclusive    refused (no format accepted)");
            }
            for (sample, rates) in &e.exclusive_formats {
                let rates: Vec<String> = rates.iter().map(u32::to_string).collect();
                println!("          exclusive    {sample} at {} Hz", rates.join(", "));
            }
        }
    }
    ExitCode::SUCCESS
}
