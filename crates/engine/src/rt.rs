//! Marks the real-time section of the driver thread.
//!
//! The streaming loop calls [`enter`] once it has finished its setup and
//! [`leave`] before it tears down. While the mark is set, Tenuto's own lock
//! ([`crate::sync::Mutex`]) counts every acquisition as a violation, and test
//! binaries install a counting global allocator that asks [`in_rt_section`]
//! whether an allocation happened on the driver thread. Together they prove,
//! in tests rather than in review, that the period loop neither allocates nor
//! takes a Tenuto lock.
//!
//! Cost on the hot path: nothing — the mark is set once per stream.
//!
//! [`RtAllocCounter`] is that counting allocator, for test binaries to
//! install with `#[global_allocator]`. It is the one `unsafe` item here: a
//! `GlobalAlloc` that forwards every call to the system allocator
//! unchanged.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    static IN_RT: Cell<bool> = const { Cell::new(false) };
}

static LOCK_VIOLATIONS: AtomicU64 = AtomicU64::new(0);

/// Marks the calling thread as being inside the real-time section.
pub fn enter() {
    IN_RT.with(|f| f.set(true));
}

/// Clears the real-time mark of the calling thread.
pub fn leave() {
    IN_RT.with(|f| f.set(false));
}

/// True while the calling thread is inside the real-time section.
///
/// Safe to call from a global allocator: it uses a const-initialised
/// thread-local, which never allocates.
pub fn in_rt_section() -> bool {
    IN_RT.try_with(|f| f.get()).unwrap_or(false)
}

/// Records that a Tenuto lock was taken on a real-time thread.
pub(crate) fn record_lock_violation() {
    LOCK_VIOLATIONS.fetch_add(1, Ordering::Relaxed);
}

/// How many times a Tenuto lock was taken inside a real-time section since
/// the process started. Tests assert this stays zero.
pub fn lock_violations() -> u64 {
    LOCK_VIOLATIONS.load(Ordering::Relaxed)
}

static RT_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// A global allocator for test binaries that counts every allocation,
/// deallocation and reallocation made inside a real-time section (see
/// [`rt_allocations`]); it forwards everything to [`std::alloc::System`].
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: tenuto_engine::rt::RtAllocCounter = tenuto_engine::rt::RtAllocCounter;
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct RtAllocCounter;

fn count_if_rt() {
    if in_rt_section() {
        RT_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[allow(unsafe_code)]
// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged; the only addition is an atomic counter and a read of
// a const-initialised thread-local, neither of which allocates.
unsafe impl std::alloc::GlobalAlloc for RtAllocCounter {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count_if_rt();
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        count_if_rt();
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count_if_rt();
        // SAFETY: same contract as ours.
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations counted by [`RtAllocCounter`] inside real-time sections
/// since the process started (zero unless a binary installed it).
pub fn rt_allocations() -> u64 {
    RT_ALLOCATIONS.load(Ordering::Relaxed)
}
