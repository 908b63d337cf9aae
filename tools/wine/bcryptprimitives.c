/*
 * Tenuto test harness: a one-function bcryptprimitives.dll for Wine 8.0.
 *
 * Rust's std (>= 1.78) on Windows imports ProcessPrng from bcryptprimitives.dll. Wine 8.0
 * ships no such DLL, so every Rust executable (and tenuto.dll, in any process that loads it)
 * fails to start under Wine (exit code 53, no output). This DLL implements ProcessPrng on top
 * of advapi32's SystemFunction036 (RtlGenRandom). tools/wine/env.sh compiles it with
 * x86_64-w64-mingw32-gcc and copies it into the project's Wine prefix (system32); it is only
 * for testing under Wine and is never shipped or committed as a binary.
 *
 * Written for the Tenuto project; MIT OR Apache-2.0, like the rest of it.
 */
#include <windows.h>

/* advapi32!SystemFunction036, documented as RtlGenRandom; declared here to avoid ntsecapi.h. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length);
BOOL WINAPI DllEntry(HINSTANCE instance, DWORD reason, LPVOID reserved);

/* Fills `data` with `length` random bytes. Like the real one, it reports success. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        /* SystemFunction036 takes a 32-bit length: go in chunks of at most 1 GiB. */
        ULONG chunk = length > 0x40000000u ? 0x40000000u : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

/* The entry point (the DLL is linked with -nostdlib, so there is no CRT to initialise). */
BOOL WINAPI DllEntry(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH)
        DisableThreadLibraryCalls(instance);
    return TRUE;
}
