//! `process` and everything a driver calls per period never allocate, under a counting
//! global allocator; and the same check on rubato's `process_into_buffer` (the benchmark's
//! other candidate), whose count is asserted too so that a change in rubato shows.
//!
//! Only the test's own thread is counted, while it processes: libtest's main thread may
//! allocate meanwhile.

#[path = "common/rubato_candidate.rs"]
mod rubato_candidate;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use tenuto_resample::Resampler;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the test's thread while it processes. Const-initialised: reading it never
    /// allocates, so the allocator may.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: forwards every call unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counter and the const thread-local it reads have no effect on
// the returned memory and do not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's guarantees for `alloc` are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's guarantees for `realloc` are passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn resampler_does_not_allocate() {
    let rates = [44_100, 48_000, 88_200, 96_000, 176_400, 192_000];
    let mut resamplers: Vec<Resampler> = rates
        .iter()
        .flat_map(|&i| rates.iter().map(move |&o| (i, o)))
        .map(|(i, o)| Resampler::new(i, o, 2).unwrap())
        .collect();
    let input: Vec<f32> = (0..2 * 60_000).map(|i| (i as f32 * 0.01).sin()).collect();
    let mut output = vec![0.0f32; 2 * 20_000];
    let n = allocations(|| {
        for r in &mut resamplers {
            let mut at = 0;
            for period in 0..20 {
                r.set_ratio_adjust_ppm(f64::from(period) * 37.0 - 300.0);
                let m = [32, 64, 256, 1_024][period as usize % 4];
                let need = r.input_frames_needed(m);
                let _ = r.output_frames_available(need);
                let _ = r.input_frames_max(m) + r.output_frames_max(m);
                let _ = r.delay_frames();
                let (used, _) = r.process(&input[at * 2..(at + need) * 2], &mut output[..m * 2]);
                at += used;
            }
            // Render style: all input, room to spare.
            let _ = r.process(&input[..2 * 1_000], &mut output);
            r.reset();
        }
    });
    assert_eq!(n, 0, "the resampler allocated {n} times");
}

#[test]
fn rubato_process_into_buffer_does_not_allocate() {
    let mut r = rubato_candidate::Rubato::new(44_100, 48_000, 2, 256);
    let input = vec![0.25f32; 2 * 4_096];
    let mut output = vec![0.0f32; 2 * 256];
    let n = allocations(|| {
        for period in 0..50 {
            r.set_ratio_adjust(1.0 + f64::from(period) * 1e-5);
            let need = r.input_frames_next();
            r.process(&input[..need * 2], &mut output);
        }
    });
    println!("rubato: {n} allocations in 50 periods");
    assert_eq!(n, 0, "rubato allocated {n} times");
}
