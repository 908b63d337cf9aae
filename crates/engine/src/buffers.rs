//! The ASIO double buffers: memory the engine allocates and the host writes
//! through raw pointers.
//!
//! # Safety invariant
//! This is one of Tenuto's few `unsafe` modules. The memory is one zeroed
//! heap block, allocated in `createBuffers` and freed when the last owner
//! drops it (after the driver thread has been joined). Two parties touch
//! its contents:
//! * the host, through the pointers handed out by [`HostBuffers::pointer`],
//!   only for half `i` and only while its `bufferSwitch(i)` call runs (we
//!   always pass `directProcess = ASIOTrue`, so the host finishes with the
//!   half before the call returns) — the ASIO contract;
//! * Tenuto, only through the single [`BufferAccess`] (not `Clone`, methods
//!   take `&mut self`), which lives on the driver thread and touches half `i`
//!   only outside `bufferSwitch(i)`.
//!
//! So no two Rust references to the same bytes ever coexist, and the host
//! never writes bytes Tenuto is reading at that moment.

#![allow(unsafe_code)]

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;

/// Alignment of every half buffer (enough for f64 and SIMD loads).
const ALIGN: usize = 16;

/// Number of halves [`BufferAccess::halves`] and [`BufferAccess::halves_mut`] lend at once:
/// the converter's group of channels.
pub const GROUP: usize = tenuto_convert::GROUP_CHANNELS;

/// Owner of the double-buffer memory.
#[derive(Debug)]
pub struct HostBuffers {
    base: NonNull<u8>,
    layout: Layout,
    slots: usize,
    half_bytes: usize,
    stride: usize,
}

// SAFETY: the block is plain bytes; all access to its contents goes through
// `BufferAccess` (one owner, `&mut self`) or the host under the ASIO contract
// described in the module docs. The pointer itself is immutable.
unsafe impl Send for HostBuffers {}
// SAFETY: see above; `&HostBuffers` only exposes the base address.
unsafe impl Sync for HostBuffers {}

impl HostBuffers {
    /// Allocates zeroed memory for `slots` channels × 2 halves of
    /// `half_bytes` each. Returns `None` when the allocation fails or the
    /// size overflows.
    pub fn allocate(slots: usize, half_bytes: usize) -> Option<(Arc<Self>, BufferAccess)> {
        let stride = half_bytes.checked_add(ALIGN - 1)? / ALIGN * ALIGN;
        let size = stride.checked_mul(2)?.checked_mul(slots)?.max(ALIGN);
        let layout = Layout::from_size_align(size, ALIGN).ok()?;
        // SAFETY: `layout` has a non-zero size (at least ALIGN).
        let base = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        let buffers = Arc::new(Self {
            base,
            layout,
            slots,
            half_bytes,
            stride,
        });
        let access = BufferAccess {
            buffers: Arc::clone(&buffers),
        };
        Some((buffers, access))
    }

    /// Number of channel buffers.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Bytes in one half of one channel.
    pub fn half_bytes(&self) -> usize {
        self.half_bytes
    }

    /// Total bytes allocated.
    pub fn allocated_bytes(&self) -> usize {
        self.layout.size()
    }

    fn offset(&self, slot: usize, half: usize) -> Option<usize> {
        (slot < self.slots && half < 2).then(|| (slot * 2 + half) * self.stride)
    }

    /// The address the host gets for `slot`'s half `half` (null if out of range).
    pub fn pointer(&self, slot: usize, half: usize) -> *mut c_void {
        match self.offset(slot, half) {
            // SAFETY: `offset` is inside the allocation (checked above).
            Some(off) => unsafe { self.base.as_ptr().add(off) }.cast(),
            None => std::ptr::null_mut(),
        }
    }
}

impl Drop for HostBuffers {
    fn drop(&mut self) {
        // SAFETY: `base` came from `alloc_zeroed(self.layout)` and is freed once.
        unsafe { dealloc(self.base.as_ptr(), self.layout) }
    }
}

/// The driver thread's exclusive handle on the buffer contents.
#[derive(Debug)]
pub struct BufferAccess {
    buffers: Arc<HostBuffers>,
}

impl BufferAccess {
    /// Reads half `half` of `slot` (empty if out of range).
    pub fn half(&mut self, slot: usize, half: usize) -> &[u8] {
        match self.buffers.offset(slot, half) {
            // SAFETY: in bounds; `&mut self` makes this the only Rust
            // reference; the host does not touch this half now (module docs).
            Some(off) => unsafe {
                std::slice::from_raw_parts(
                    self.buffers.base.as_ptr().add(off),
                    self.buffers.half_bytes,
                )
            },
            None => &[],
        }
    }

    /// Writes half `half` of `slot` (empty if out of range).
    pub fn half_mut(&mut self, slot: usize, half: usize) -> &mut [u8] {
        match self.buffers.offset(slot, half) {
            // SAFETY: as in `half`; the reference is unique for its lifetime.
            Some(off) => unsafe {
                std::slice::from_raw_parts_mut(
                    self.buffers.base.as_ptr().add(off),
                    self.buffers.half_bytes,
                )
            },
            None => &mut [],
        }
    }

    /// Reads half `half` of several slots at once (an out-of-range slot gives an empty
    /// slice).
    pub fn halves(&mut self, slots: [usize; GROUP], half: usize) -> [&[u8]; GROUP] {
        let buffers = &*self.buffers;
        let mut out: [&[u8]; GROUP] = Default::default();
        for (o, &slot) in out.iter_mut().zip(&slots) {
            if let Some(off) = buffers.offset(slot, half) {
                // SAFETY: in bounds; `&mut self` makes these the only Rust references (all
                // shared); the host does not touch this half now (module docs).
                *o = unsafe {
                    std::slice::from_raw_parts(buffers.base.as_ptr().add(off), buffers.half_bytes)
                };
            }
        }
        out
    }

    /// Writes half `half` of several distinct slots at once. A slot that is out of range or
    /// repeats an earlier one gives an empty slice, so the slices never overlap.
    pub fn halves_mut(&mut self, slots: [usize; GROUP], half: usize) -> [&mut [u8]; GROUP] {
        let buffers = &*self.buffers;
        let mut out: [&mut [u8]; GROUP] = Default::default();
        // Strictly increasing slots (the engine's routes come in slot order) are distinct
        // without a search.
        let increasing = slots.windows(2).all(|w| w[0] < w[1]);
        for k in 0..GROUP {
            let slot = slots[k];
            if !increasing && slots[..k].contains(&slot) {
                continue;
            }
            if let Some(off) = buffers.offset(slot, half) {
                // SAFETY: in bounds; distinct slots are disjoint ranges of the block and a
                // repeated slot was refused above, so each slice is the only reference to
                // its bytes while `&mut self` is borrowed; the host does not touch this half
                // now (module docs).
                out[k] = unsafe {
                    std::slice::from_raw_parts_mut(
                        buffers.base.as_ptr().add(off),
                        buffers.half_bytes,
                    )
                };
            }
        }
        out
    }

    /// Zeroes every half of every slot.
    pub fn clear(&mut self) {
        for slot in 0..self.buffers.slots {
            for half in 0..2 {
                self.half_mut(slot, half).fill(0);
            }
        }
    }

    /// The buffers this handle accesses.
    pub fn buffers(&self) -> &Arc<HostBuffers> {
        &self.buffers
    }
}
