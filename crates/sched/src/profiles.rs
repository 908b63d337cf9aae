//! Per-DAW profiles (in progress).
