//! Runs one whole-period conversion many times, for instruction counts under callgrind
//! (which do not depend on the machine's load):
//!
//! ```sh
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/period_count <d2h|h2d> <f32|i16|i24|i32> <host name> <channels> <frames> <repeats>
//! ```
//!
//! The difference between two repeat counts, divided by the difference in repeats and by
//! channels × frames, is the instructions per sample.

use std::hint::black_box;

use tenuto_convert::{device_to_host_period, host_to_device_period, DeviceFormat, HostFormat};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "period_count <d2h|h2d> <device> <host> <channels> <frames> <repeats>";
    let [dir, device, host, channels, frames, repeats] = &args[..] else {
        panic!("{usage}");
    };
    let device = DeviceFormat::ALL
        .into_iter()
        .find(|d| d.name() == device)
        .expect(usage);
    let host = HostFormat::ALL
        .into_iter()
        .find(|h| h.name() == host)
        .expect(usage);
    let (channels, frames, repeats): (usize, usize, usize) = (
        channels.parse().expect(usage),
        frames.parse().expect(usage),
        repeats.parse().expect(usage),
    );
    let mut dev = vec![0x35u8; channels * frames * device.bytes_per_sample()];
    let mut planes = vec![vec![0x53u8; frames * host.bytes_per_sample()]; channels];
    if dir == "d2h" {
        let mut p: Vec<&mut [u8]> = planes.iter_mut().map(Vec::as_mut_slice).collect();
        for _ in 0..repeats {
            device_to_host_period(black_box(&dev), device, channels, &mut p[..], host);
        }
    } else {
        let mut p: Vec<&[u8]> = planes.iter().map(Vec::as_slice).collect();
        for _ in 0..repeats {
            host_to_device_period(&mut p[..], host, black_box(&mut dev), device, channels);
        }
    }
    black_box((&dev, &planes));
}
