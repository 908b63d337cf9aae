//! Owned by the Linux scheduling work (in progress).
