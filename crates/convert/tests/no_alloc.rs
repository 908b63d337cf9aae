//! The conversion functions never allocate: every pair, both directions, and the silence
//! functions run under a counting global allocator.
//!
//! Only the test's own thread is counted, while it converts: libtest's main thread may
//! allocate meanwhile (its output capture, its timers). The engine's
//! `rt::RtAllocCounter` works the same way; this crate sits below the engine, so the test has
//! its own small counter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use tenuto_convert::{
    device_to_host, host_to_device, silence_device_channel, silence_host, DeviceFormat, HostFormat,
};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set on the test's thread while it converts. Const-initialised: reading it never
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

#[test]
fn conversions_do_not_allocate() {
    // Allocate everything up front.
    let device_in: Vec<u8> = (0..4096u32).map(|i| (i * 37) as u8).collect();
    let mut device_out = vec![0u8; 4096];
    let host_in: Vec<u8> = (0..2048u32).map(|i| (i * 11) as u8).collect();
    let mut host_out = vec![0u8; 2048];

    let before = ALLOCATIONS.load(Ordering::SeqCst);
    COUNTING.with(|c| c.set(true));
    let mut frames = 0;
    for device in DeviceFormat::ALL {
        for host in HostFormat::ALL {
            for (channels, channel) in [(1, 0), (2, 1), (6, 4), (2, 2)] {
                frames +=
                    device_to_host(&device_in, device, channels, channel, &mut host_out, host);
                frames +=
                    host_to_device(&host_in, host, &mut device_out, device, channels, channel);
            }
        }
        frames += silence_device_channel(&mut device_out, device, 3, 1);
    }
    silence_host(&mut host_out);
    COUNTING.with(|c| c.set(false));
    let after = ALLOCATIONS.load(Ordering::SeqCst);

    assert!(frames > 0);
    assert_eq!(after - before, 0, "the conversion functions allocated");
}
