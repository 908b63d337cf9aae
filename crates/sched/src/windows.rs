//! Owned by the Windows scheduling work (in progress).
