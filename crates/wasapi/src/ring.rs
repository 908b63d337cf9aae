//! A preallocated ring of interleaved frames (bytes in the device format) over
//! [`rtrb`]: whole frames in, whole frames out, no allocation after [`FrameRing::new`].
//!
//! Both ends live in the one stream object on the driver thread today; rtrb's wait-free
//! single-producer/single-consumer split lets a later version move the WASAPI side onto a
//! thread of its own without changing the data path.

/// A ring of whole frames of `frame_bytes` bytes each.
pub struct FrameRing {
    producer: rtrb::Producer<u8>,
    consumer: rtrb::Consumer<u8>,
    frame_bytes: usize,
    capacity_frames: usize,
}

impl std::fmt::Debug for FrameRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameRing")
            .field("frames", &self.frames())
            .field("capacity_frames", &self.capacity_frames)
            .field("frame_bytes", &self.frame_bytes)
            .finish()
    }
}

impl FrameRing {
    /// A ring holding up to `capacity_frames` frames of `frame_bytes` bytes (at least one
    /// byte per frame is assumed).
    pub fn new(capacity_frames: usize, frame_bytes: usize) -> Self {
        let frame_bytes = frame_bytes.max(1);
        let (producer, consumer) =
            rtrb::RingBuffer::new(capacity_frames.saturating_mul(frame_bytes));
        Self {
            producer,
            consumer,
            frame_bytes,
            capacity_frames,
        }
    }

    /// Bytes per frame.
    pub fn frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    /// Capacity, frames.
    pub fn capacity_frames(&self) -> usize {
        self.capacity_frames
    }

    /// Frames waiting to be read.
    pub fn frames(&self) -> usize {
        self.consumer.slots() / self.frame_bytes
    }

    /// Frames that can still be written.
    pub fn free_frames(&self) -> usize {
        self.producer.slots() / self.frame_bytes
    }

    /// Appends as many whole frames of `src` as fit; returns how many. Real-time safe.
    pub fn push(&mut self, src: &[u8]) -> usize {
        let frames = (src.len() / self.frame_bytes).min(self.free_frames());
        let bytes = frames * self.frame_bytes;
        let (done, _) = self
            .producer
            .push_partial_slice(src.get(..bytes).unwrap_or_default());
        done.len() / self.frame_bytes
    }

    /// Appends `frames` frames of zeros (silence in every format the engine streams) or as
    /// many as fit; returns how many. Real-time safe.
    pub fn push_silence(&mut self, frames: usize) -> usize {
        let frames = frames.min(self.free_frames());
        match self.producer.write_chunk(frames * self.frame_bytes) {
            Ok(mut chunk) => {
                let (a, b) = chunk.as_mut_slices();
                a.fill(0);
                b.fill(0);
                chunk.commit_all();
                frames
            }
            Err(_) => 0,
        }
    }

    /// Moves as many whole frames as fit in `dst` (and are waiting) into it; returns how
    /// many. Real-time safe.
    pub fn pop_into(&mut self, dst: &mut [u8]) -> usize {
        let frames = (dst.len() / self.frame_bytes).min(self.frames());
        let bytes = frames * self.frame_bytes;
        let (done, _) = self
            .consumer
            .pop_partial_slice(dst.get_mut(..bytes).unwrap_or_default());
        done.len() / self.frame_bytes
    }

    /// Drops up to `frames` of the oldest waiting frames; returns how many. Real-time safe.
    pub fn discard(&mut self, frames: usize) -> usize {
        let frames = frames.min(self.frames());
        match self.consumer.read_chunk(frames * self.frame_bytes) {
            Ok(chunk) => {
                chunk.commit_all();
                frames
            }
            Err(_) => 0,
        }
    }

    /// Drops every waiting frame. Not for the real-time loop (it is, but it is not needed
    /// there).
    pub fn clear(&mut self) {
        let n = self.consumer.slots();
        if let Ok(chunk) = self.consumer.read_chunk(n) {
            chunk.commit_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_frames_in_order_across_the_wrap() {
        let mut r = FrameRing::new(4, 2);
        assert_eq!(r.free_frames(), 4);
        assert_eq!(r.push(&[1, 1, 2, 2, 3]), 2); // the half frame is not taken
        assert_eq!(r.frames(), 2);
        let mut out = [0u8; 2];
        assert_eq!(r.pop_into(&mut out), 1);
        assert_eq!(out, [1, 1]);
        assert_eq!(r.push(&[3, 3, 4, 4, 5, 5, 6, 6]), 3); // wraps; 6 does not fit
        assert_eq!(r.free_frames(), 0);
        let mut out = [0u8; 10];
        assert_eq!(r.pop_into(&mut out), 4);
        assert_eq!(out[..8], [2, 2, 3, 3, 4, 4, 5, 5]);
        assert_eq!(r.frames(), 0);
    }

    #[test]
    fn silence_and_clear() {
        let mut r = FrameRing::new(3, 4);
        r.push(&[9; 4]);
        assert_eq!(r.push_silence(5), 2);
        let mut out = [7u8; 12];
        assert_eq!(r.pop_into(&mut out), 3);
        assert_eq!(out, [9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
        r.push(&[1, 1, 1, 1, 2, 2, 2, 2]);
        assert_eq!(r.discard(1), 1);
        let mut out = [0u8; 4];
        assert_eq!(r.pop_into(&mut out), 1);
        assert_eq!(out, [2; 4]);
        r.push(&[1; 8]);
        assert_eq!(r.discard(5), 2);
        r.push(&[1; 8]);
        r.clear();
        assert_eq!((r.frames(), r.free_frames()), (0, 3));
    }
}
