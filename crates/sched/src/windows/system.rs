//! Facts about the process Tenuto runs in.

/// Whether this process runs under Wine (`HKLM\Software\Wine` exists —
/// every Wine prefix has it). Wine's avrt accepts every MMCSS registration
/// without changing scheduling, and its `THREAD_BASIC_INFORMATION.Priority`
/// is the thread's relative level (0, 2, 15, …), not the absolute priority.
pub fn is_wine() -> bool {
    tenuto_win::is_wine()
}

/// Whether this process runs elevated (the token's `TokenElevation`).
/// `false` when the token cannot be read.
pub fn is_elevated() -> bool {
    tenuto_win::is_elevated()
}
