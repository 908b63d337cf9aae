//! How the ASIO buffer is decoupled from the WASAPI engine period: ring sizes, the output
//! prefill that cannot underrun, when a period is ready, and the latency that results.
//!
//! Portable and allocation-free, so that the rules are tested here (by simulation) and the
//! Windows stream only applies them.
//!
//! # The model
//!
//! Shared-mode WASAPI pulls `Pr` frames from the render buffer once per engine period (an
//! underrun if fewer are queued) and delivers capture data in packets of `Pc` frames, each a
//! whole engine period after its first frame was recorded, at some phase `δ ∈ [0, Pc)` after
//! a render pull. The ASIO side works in buffers of `B` frames.
//!
//! * **Capture present** (duplex or input only): an ASIO period runs as soon as the input
//!   ring holds `B` frames. Each period writes `B` output frames, so output is produced at the
//!   capture rate in bursts; the render queue must start with enough silence that every pull
//!   finds `Pr` frames whatever the phase:
//!   `prefill = Pr + 2·Pc − gcd(Pr, Pc) + B − gcd(B, Pc)`. For the usual `Pr = Pc = P` that
//!   is `2·P + B − gcd(B, P)` — `2·P` when the ASIO buffer equals the period — and the
//!   simulation below shows it is the minimum (one frame less underruns at some phase); for
//!   unequal periods it is a safe bound (within about one period of the minimum).
//! * **Render only**: an ASIO period runs while fewer than `Pr` frames are queued (ring +
//!   WASAPI padding), so the queue is topped up to at least `Pr` right after every pull:
//!   `prefill = Pr`.
//!
//! Ring capacities are not latency (only the fill is): the input ring holds `B` plus the
//! capture buffer (a late driver drains several packets at once). The output ring holds the
//! whole prefill plus one ASIO buffer — the most the model ever queues — plus one render and
//! one capture period of timing jitter (Wine's period timers move by up to half a period
//! each way); the stream treats that capacity as the high-water mark of everything queued
//! (ring + WASAPI padding) and, beyond it, drops back to the prefill level once (a resync).
//!
//! # Latency (frames, beyond the ASIO buffer itself; the engine adds `B`)
//!
//! * input: `Pc − gcd(B, Pc)` (the longest a frame waits in the ring for its ASIO buffer to
//!   fill) + the capture stream latency (`IAudioClient::GetStreamLatency`);
//! * output: `prefill − B − (Pc − gcd(B, Pc))` with capture (= `Pr` when `Pr = Pc`), `Pr`
//!   without — the frame of an ASIO period is handed to the engine at the next pull — + the
//!   render stream latency.
//!
//! With capture, input + output is exact in frames: a frame written at ASIO output position
//! `n` is the render stream's frame `n + prefill`, and capture frame `m` is ASIO input frame
//! `m`, so a loopback closes at `prefill + stream latencies − B`, whatever the phase. The split
//! between the two directions is a convention (the input side takes the ring wait).

use tenuto_engine::device::DeviceLatency;

/// Greatest common divisor (`gcd(0, b) = b`).
pub fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A duration in 100-ns units as frames at `rate`, rounded to the nearest frame.
pub fn hns_to_frames(hns: i64, rate: u32) -> u32 {
    let frames = (i128::from(hns.max(0)) * i128::from(rate) + 5_000_000) / 10_000_000;
    u32::try_from(frames).unwrap_or(u32::MAX)
}

/// Frames at `rate` as 100-ns units, rounded to the nearest.
pub fn frames_to_hns(frames: u32, rate: u32) -> i64 {
    let rate = i64::from(rate.max(1));
    (i64::from(frames) * 10_000_000 + rate / 2) / rate
}

/// Ring sizes and pacing for one stream configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingPlan {
    /// The ASIO buffer, `B`.
    pub buffer_frames: u32,
    /// Frames the render side pulls per engine period, `Pr` (`None`: no render side).
    pub render_period_frames: Option<u32>,
    /// Frames per capture packet, `Pc` (`None`: no capture side).
    pub capture_period_frames: Option<u32>,
    /// Silence queued for the render device before it starts; also the render-only top-up
    /// target. 0 without a render side.
    pub output_prefill_frames: u32,
    /// Input ring capacity, frames (0 without capture).
    pub input_ring_frames: u32,
    /// Output ring capacity, frames (0 without render); also the high-water mark of all
    /// queued output (ring + WASAPI padding).
    pub output_ring_frames: u32,
}

impl RingPlan {
    /// Plans a stream of `buffer_frames` ASIO frames over a render side pulling
    /// `render_period` frames per period and a capture side delivering packets of
    /// `capture_period` frames from a buffer of `capture_buffer_frames`. Zero periods count
    /// as one frame.
    pub fn new(
        buffer_frames: u32,
        render_period: Option<u32>,
        capture_period: Option<u32>,
        capture_buffer_frames: u32,
    ) -> Self {
        let b = buffer_frames.max(1);
        let render_period = render_period.map(|p| p.max(1));
        let capture_period = capture_period.map(|p| p.max(1));
        let prefill = match (render_period, capture_period) {
            (Some(pr), Some(pc)) => pr
                .saturating_add(pc.saturating_mul(2))
                .saturating_sub(gcd(pr, pc))
                .saturating_add(b)
                .saturating_sub(gcd(b, pc)),
            (Some(pr), None) => pr,
            (None, _) => 0,
        };
        Self {
            buffer_frames: b,
            render_period_frames: render_period,
            capture_period_frames: capture_period,
            output_prefill_frames: prefill,
            input_ring_frames: match capture_period {
                Some(pc) => b.saturating_add(capture_buffer_frames.max(pc)),
                None => 0,
            },
            output_ring_frames: match render_period {
                Some(pr) => prefill
                    .saturating_add(b)
                    .saturating_add(pr)
                    .saturating_add(capture_period.unwrap_or(0)),
                None => 0,
            },
        }
    }

    /// The same plan with `frames` more output queued (a safety margin for render timing
    /// the model does not cover); the output latency grows by the same amount.
    pub fn with_output_safety(mut self, frames: u32) -> Self {
        if self.render_period_frames.is_some() {
            self.output_prefill_frames = self.output_prefill_frames.saturating_add(frames);
            self.output_ring_frames = self.output_ring_frames.saturating_add(frames);
        }
        self
    }

    /// Whether the next ASIO period can run, given the frames waiting in the input ring and
    /// the frames queued for the render device (output ring + WASAPI padding). Real-time safe.
    pub fn period_ready(&self, input_frames: usize, output_queued: usize) -> bool {
        match (self.capture_period_frames, self.render_period_frames) {
            (Some(_), _) => input_frames >= self.buffer_frames as usize,
            (None, Some(_)) => output_queued < self.output_prefill_frames as usize,
            (None, None) => false,
        }
    }

    /// The longest a captured frame waits in the input ring for its ASIO buffer to fill.
    pub fn input_wait_frames(&self) -> u32 {
        self.capture_period_frames
            .map_or(0, |pc| pc - gcd(self.buffer_frames, pc))
    }

    /// The plan in host frames for a stream that converts between a device at
    /// `device_rate` and a host at `host_rate`: the device's periods and capture buffer
    /// expressed in host frames (rounded up), planned as if the device ran at the host's
    /// rate. The rings and the latency then follow the same rules; the queue on the device
    /// side is [`RingPlan::on_device`] of it.
    pub fn converted(
        buffer_frames: u32,
        render_period: Option<u32>,
        capture_period: Option<u32>,
        capture_buffer_frames: u32,
        device_rate: f64,
        host_rate: f64,
    ) -> Self {
        let to_host = |frames: u32| (f64::from(frames) * host_rate / device_rate).ceil() as u32;
        Self::new(
            buffer_frames,
            render_period.map(to_host),
            capture_period.map(to_host),
            to_host(capture_buffer_frames),
        )
    }

    /// This host-frame plan ([`RingPlan::converted`]) as the device side's queue sees it:
    /// the ASIO buffer, prefill and output ring in device frames (rounded up), the device's
    /// own periods. The input ring stays in host frames (it holds converted frames).
    pub fn on_device(
        &self,
        render_period: Option<u32>,
        capture_period: Option<u32>,
        device_rate: f64,
        host_rate: f64,
    ) -> Self {
        let to_device = |frames: u32| (f64::from(frames) * device_rate / host_rate).ceil() as u32;
        Self {
            buffer_frames: to_device(self.buffer_frames),
            render_period_frames: render_period,
            capture_period_frames: capture_period,
            output_prefill_frames: to_device(self.output_prefill_frames),
            input_ring_frames: self.input_ring_frames,
            output_ring_frames: to_device(self.output_ring_frames),
        }
    }

    /// Device latency given the streams' own latencies (`GetStreamLatency`, in frames). See
    /// the module documentation for the derivation.
    pub fn latency(&self, render_stream_frames: u32, capture_stream_frames: u32) -> DeviceLatency {
        let input = match self.capture_period_frames {
            Some(_) => self
                .input_wait_frames()
                .saturating_add(capture_stream_frames),
            None => 0,
        };
        let output = match (self.render_period_frames, self.capture_period_frames) {
            (Some(_), Some(_)) => self
                .output_prefill_frames
                .saturating_sub(self.buffer_frames)
                .saturating_sub(self.input_wait_frames()),
            (Some(pr), None) => pr,
            (None, _) => 0,
        };
        DeviceLatency {
            input_frames: input,
            output_frames: if self.render_period_frames.is_some() {
                output.saturating_add(render_stream_frames)
            } else {
                0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outcome of a simulated stream.
    #[derive(Debug, Default)]
    struct Sim {
        underruns: u32,
        max_input_fill: usize,
        max_output_queue: usize,
        periods: u64,
    }

    /// Simulates `pulls` render pulls of a stream planned with `plan` (with the given prefill)
    /// whose capture packets arrive `delta` frames after the render pull at the same period
    /// boundary (after it at ties: the worst case). Time counts frames.
    fn simulate(plan: &RingPlan, prefill: usize, delta: u64, pulls: u64) -> Sim {
        let b = plan.buffer_frames as usize;
        let mut sim = Sim::default();
        let mut input = 0usize;
        let mut queued = prefill;
        // Events: (time, kind) with kind 0 = render pull, 1 = capture packet.
        let pr = plan.render_period_frames.map(u64::from);
        let pc = plan.capture_period_frames.map(u64::from);
        let horizon = pr.unwrap_or(1) * pulls;
        let mut next_pull = pr.map(|_| 0u64);
        let mut next_packet = pc.map(|p| p + delta);
        loop {
            let t_pull = next_pull.unwrap_or(u64::MAX);
            let t_packet = next_packet.unwrap_or(u64::MAX);
            let now = t_pull.min(t_packet);
            if now >= horizon {
                break;
            }
            if t_pull <= t_packet {
                let p = pr.unwrap_or(0) as usize;
                if queued < p {
                    sim.underruns += 1;
                    queued = 0;
                } else {
                    queued -= p;
                }
                next_pull = Some(t_pull + pr.unwrap_or(0));
            } else {
                input += pc.unwrap_or(0) as usize;
                next_packet = Some(t_packet + pc.unwrap_or(0));
            }
            sim.max_input_fill = sim.max_input_fill.max(input);
            // The driver wakes on the event and runs every period that is ready.
            while plan.period_ready(input, queued) {
                if plan.capture_period_frames.is_some() {
                    input -= b;
                }
                if plan.render_period_frames.is_some() {
                    queued += b;
                }
                sim.periods += 1;
                sim.max_output_queue = sim.max_output_queue.max(queued);
            }
        }
        sim
    }

    const CASES: [(u32, u32, u32); 12] = [
        (480, 480, 480),
        (256, 480, 480),
        (64, 480, 480),
        (32, 480, 480),
        (1024, 480, 480),
        (2048, 441, 441),
        (256, 441, 441),
        (100, 441, 441),
        (128, 144, 144),
        (512, 480, 320),
        (256, 441, 480),
        (96, 528, 528),
    ];

    #[test]
    fn duplex_never_underruns_at_any_phase() {
        for (b, pr, pc) in CASES {
            let plan = RingPlan::new(b, Some(pr), Some(pc), 3 * pc);
            let prefill = plan.output_prefill_frames as usize;
            for delta in 0..u64::from(pc) {
                let sim = simulate(&plan, prefill, delta, 400);
                assert_eq!(sim.underruns, 0, "B={b} Pr={pr} Pc={pc} δ={delta}: {sim:?}");
                assert!(sim.max_input_fill <= plan.input_ring_frames as usize);
                assert!(sim.max_output_queue <= plan.output_ring_frames as usize);
            }
        }
    }

    #[test]
    fn the_duplex_prefill_is_the_minimum_when_periods_are_equal() {
        for (b, pr, pc) in CASES.into_iter().filter(|(_, pr, pc)| pr == pc) {
            // Lengths where the worst residue of the capture count modulo B is reached.
            if gcd(b, pc) == 1 {
                continue;
            }
            let plan = RingPlan::new(b, Some(pr), Some(pc), 3 * pc);
            let less = plan.output_prefill_frames as usize - 1;
            let underran =
                (0..u64::from(pc)).any(|delta| simulate(&plan, less, delta, 400).underruns > 0);
            assert!(underran, "B={b} P={pr}: one frame less never underruns");
        }
    }

    #[test]
    fn when_the_buffer_is_the_period_the_prefill_is_two_periods() {
        let plan = RingPlan::new(480, Some(480), Some(480), 1440);
        assert_eq!(plan.output_prefill_frames, 960);
        assert_eq!(plan.input_wait_frames(), 0);
        // Round trip beyond the ASIO buffer: input + output = prefill − B (+ stream latencies).
        let l = plan.latency(0, 0);
        assert_eq!((l.input_frames, l.output_frames), (0, 480));
    }

    #[test]
    fn render_only_tops_up_to_one_period_and_never_underruns() {
        for (b, pr, _) in CASES {
            let plan = RingPlan::new(b, Some(pr), None, 0);
            assert_eq!(plan.output_prefill_frames, pr);
            let sim = simulate(&plan, pr as usize, 0, 400);
            assert_eq!(sim.underruns, 0, "B={b} Pr={pr}: {sim:?}");
            assert!(sim.max_output_queue <= plan.output_ring_frames as usize);
            // Periods run at the device's pace: B frames each, pulls·Pr frames in all.
            let produced = sim.periods * u64::from(b);
            let consumed = 400 * u64::from(pr);
            assert!(produced + u64::from(b) >= consumed && produced <= consumed + u64::from(b));
        }
    }

    #[test]
    fn capture_only_runs_a_period_per_b_frames() {
        let plan = RingPlan::new(256, None, Some(480), 1440);
        assert_eq!(plan.output_prefill_frames, 0);
        assert!(!plan.period_ready(255, 0));
        assert!(plan.period_ready(256, 0));
        let l = plan.latency(0, 100);
        assert_eq!((l.input_frames, l.output_frames), (480 - 32 + 100, 0));
    }

    #[test]
    fn latency_sums_to_the_loopback_offset() {
        for (b, pr, pc) in CASES {
            let plan = RingPlan::new(b, Some(pr), Some(pc), 3 * pc);
            let l = plan.latency(7, 11);
            assert_eq!(
                l.input_frames + l.output_frames,
                plan.output_prefill_frames - b + 7 + 11,
                "B={b} Pr={pr} Pc={pc}"
            );
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(gcd(256, 480), 32);
        assert_eq!(gcd(0, 7), 7);
        assert_eq!(hns_to_frames(100_000, 48_000), 480);
        assert_eq!(hns_to_frames(100_000, 44_100), 441);
        assert_eq!(hns_to_frames(30_000, 44_100), 132);
        assert_eq!(hns_to_frames(-5, 48_000), 0);
    }
}
