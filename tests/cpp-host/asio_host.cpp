// asio_host.cpp — independent C++ ASIO test host for Tenuto.
//
// SPDX-License-Identifier: MIT OR Apache-2.0
//
// This program loads an ASIO driver exactly the way C++ hosts do (registry lookup,
// CoCreateInstance with the CLSID as IID, calls through a C++ class with pure virtual
// methods) so that the driver's vtable and structs are checked against a C++ compiler's
// layout rather than against the Rust declarations they were written from.
//
// Everything here was written from the ABI facts in the Tenuto design brief
// (docs/DESIGN section 2); no Steinberg SDK code or headers were used or consulted.
// "ASIO" is a trademark of Steinberg Media Technologies GmbH.
//
// Build (Linux, mingw-w64; -static so no libstdc++/libgcc DLLs are needed under Wine):
//   x86_64-w64-mingw32-g++ -std=c++17 -O2 -Wall -Wextra -Werror -static -o asio_host.exe asio_host.cpp -lole32 -luuid -ladvapi32 -lwinmm
//
// Run:
//   asio_host.exe [driver-name] [seconds] [buffer-frames]
//   (defaults: "Tenuto", 3 seconds, the driver's preferred buffer size)
//
// Output: one line per step, "pass <step> — detail" or "FAIL <step> — detail",
// informational "info <topic> — detail" lines (not counted), and a final
// "cpp-host: N passed, M failed". Exit code 0 only if nothing failed.

#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <objbase.h>
#include <unknwn.h>
#include <mmsystem.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------
// ASIO ABI, declared from the design brief's facts.
// ---------------------------------------------------------------------------

static_assert(sizeof(long) == 4, "long must be 32-bit (Windows LLP64)");

typedef long ASIOError;
typedef long ASIOBool;
typedef long ASIOSampleType;

enum : long {
    ASE_OK = 0,
    ASE_SUCCESS = 0x3f4847a0,
    ASE_NotPresent = -1000,
    ASE_HWMalfunction = -999,
    ASE_InvalidParameter = -998,
    ASE_InvalidMode = -997,
    ASE_SPNotAdvancing = -996,
    ASE_NoClock = -995,
    ASE_NoMemory = -994,
};

enum : long {
    ASIOSTInt16LSB = 16,
    ASIOSTInt24LSB = 17,
    ASIOSTInt32LSB = 18,
    ASIOSTFloat32LSB = 19,
    ASIOSTFloat64LSB = 20,
    ASIOSTInt32LSB16 = 24,
    ASIOSTInt32LSB18 = 25,
    ASIOSTInt32LSB20 = 26,
    ASIOSTInt32LSB24 = 27,
};

enum : long {
    kAsioSelectorSupported = 1,
    kAsioEngineVersion = 2,
    kAsioResetRequest = 3,
    kAsioBufferSizeChange = 4,
    kAsioResyncRequest = 5,
    kAsioLatenciesChanged = 6,
    kAsioSupportsTimeInfo = 7,
    kAsioSupportsTimeCode = 8,
    kAsioMMCCommand = 9,
    kAsioSupportsInputMonitor = 10,
    kAsioOverload = 15,
};

enum : long {
    kAsioCanReportOverload = 0x24042012,
    kAsioGetInternalBufferSamples = 0x25042012,
};

enum : unsigned long {
    kSystemTimeValid = 1,
    kSamplePositionValid = 2,
    kSampleRateValid = 4,
    kSpeedValid = 8,
    kSampleRateChanged = 16,
    kClockSourceChanged = 32,
};

#pragma pack(push, 4)

// 64-bit counters as two 32-bit words, high word first.
struct ASIOSamples {
    unsigned long hi;
    unsigned long lo;
};

struct ASIOTimeStamp {
    unsigned long hi;
    unsigned long lo;
};

struct ASIOClockSource {
    long index;
    long associatedChannel;
    long associatedGroup;
    ASIOBool isCurrentSource;
    char name[32];
};

struct ASIOChannelInfo {
    long channel;
    ASIOBool isInput;
    ASIOBool isActive;
    long channelGroup;
    ASIOSampleType type;
    char name[32];
};

struct ASIOBufferInfo {
    ASIOBool isInput;
    long channelNum;
    void* buffers[2];
};

struct AsioTimeInfo {
    double speed;
    ASIOTimeStamp systemTime;
    ASIOSamples samplePosition;
    double sampleRate;
    unsigned long flags;
    char reserved[12];
};

struct ASIOTimeCode {
    double speed;
    ASIOSamples timeCodeSamples;
    unsigned long flags;
    char future[64];
};

struct ASIOTime {
    long reserved[4];
    AsioTimeInfo timeInfo;
    ASIOTimeCode timeCode;
};

// Host callbacks use the C calling convention (the default for free functions).
struct ASIOCallbacks {
    void (*bufferSwitch)(long doubleBufferIndex, ASIOBool directProcess);
    void (*sampleRateDidChange)(double sRate);
    long (*asioMessage)(long selector, long value, void* message, double* opt);
    ASIOTime* (*bufferSwitchTimeInfo)(ASIOTime* params, long doubleBufferIndex,
                                      ASIOBool directProcess);
};

struct AsioInternalBufferSamples {
    long inputSamples;
    long outputSamples;
};

#pragma pack(pop)

static_assert(sizeof(ASIOSamples) == 8, "ASIOSamples");
static_assert(offsetof(ASIOSamples, lo) == 4, "ASIOSamples.lo (high word first)");
static_assert(sizeof(ASIOTimeStamp) == 8, "ASIOTimeStamp");
static_assert(sizeof(ASIOClockSource) == 48, "ASIOClockSource");
static_assert(offsetof(ASIOClockSource, name) == 16, "ASIOClockSource.name");
static_assert(sizeof(ASIOChannelInfo) == 52, "ASIOChannelInfo");
static_assert(offsetof(ASIOChannelInfo, type) == 16, "ASIOChannelInfo.type");
static_assert(offsetof(ASIOChannelInfo, name) == 20, "ASIOChannelInfo.name");
static_assert(offsetof(ASIOBufferInfo, buffers) == 8, "ASIOBufferInfo.buffers");
static_assert(sizeof(ASIOBufferInfo) == 8 + 2 * sizeof(void*), "ASIOBufferInfo");
static_assert(sizeof(AsioTimeInfo) == 48, "AsioTimeInfo");
static_assert(offsetof(AsioTimeInfo, systemTime) == 8, "AsioTimeInfo.systemTime");
static_assert(offsetof(AsioTimeInfo, samplePosition) == 16, "AsioTimeInfo.samplePosition");
static_assert(offsetof(AsioTimeInfo, sampleRate) == 24, "AsioTimeInfo.sampleRate");
static_assert(offsetof(AsioTimeInfo, flags) == 32, "AsioTimeInfo.flags");
static_assert(offsetof(AsioTimeInfo, reserved) == 36, "AsioTimeInfo.reserved");
static_assert(sizeof(ASIOTimeCode) == 84, "ASIOTimeCode (packed)");
static_assert(offsetof(ASIOTimeCode, timeCodeSamples) == 8, "ASIOTimeCode.timeCodeSamples");
static_assert(offsetof(ASIOTimeCode, flags) == 16, "ASIOTimeCode.flags");
static_assert(offsetof(ASIOTimeCode, future) == 20, "ASIOTimeCode.future");
static_assert(sizeof(ASIOTime) == 148, "ASIOTime (packed)");
static_assert(offsetof(ASIOTime, timeInfo) == 16, "ASIOTime.timeInfo");
static_assert(offsetof(ASIOTime, timeCode) == 64, "ASIOTime.timeCode");
static_assert(sizeof(ASIOCallbacks) == 4 * sizeof(void*), "ASIOCallbacks");
static_assert(sizeof(AsioInternalBufferSamples) == 8, "AsioInternalBufferSamples");
#if defined(_WIN64)
static_assert(sizeof(ASIOBufferInfo) == 24, "ASIOBufferInfo x64");
static_assert(sizeof(ASIOCallbacks) == 32, "ASIOCallbacks x64");
#endif

// The driver interface, declared the way C++ hosts declare it: pure virtual methods
// after IUnknown's three, default member calling convention (thiscall on x86, the one
// x64 convention on x64).
class IASIO : public IUnknown {
public:
    virtual ASIOBool init(void* sysHandle) = 0;
    virtual void getDriverName(char* name) = 0;        // 32 bytes
    virtual long getDriverVersion() = 0;
    virtual void getErrorMessage(char* string) = 0;    // 124 bytes
    virtual ASIOError start() = 0;
    virtual ASIOError stop() = 0;
    virtual ASIOError getChannels(long* numInputChannels, long* numOutputChannels) = 0;
    virtual ASIOError getLatencies(long* inputLatency, long* outputLatency) = 0;
    virtual ASIOError getBufferSize(long* minSize, long* maxSize, long* preferredSize,
                                    long* granularity) = 0;
    virtual ASIOError canSampleRate(double sampleRate) = 0;
    virtual ASIOError getSampleRate(double* sampleRate) = 0;
    virtual ASIOError setSampleRate(double sampleRate) = 0;
    virtual ASIOError getClockSources(ASIOClockSource* clocks, long* numSources) = 0;
    virtual ASIOError setClockSource(long reference) = 0;
    virtual ASIOError getSamplePosition(ASIOSamples* sPos, ASIOTimeStamp* tStamp) = 0;
    virtual ASIOError getChannelInfo(ASIOChannelInfo* info) = 0;
    virtual ASIOError createBuffers(ASIOBufferInfo* bufferInfos, long numChannels,
                                    long bufferSize, ASIOCallbacks* callbacks) = 0;
    virtual ASIOError disposeBuffers() = 0;
    virtual ASIOError controlPanel() = 0;
    virtual ASIOError future(long selector, void* opt) = 0;
    virtual ASIOError outputReady() = 0;
};

// ---------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------

static const char* const kDash = "\xE2\x80\x94";  // U+2014, UTF-8
static int g_passed = 0;
static int g_failed = 0;
static const char* volatile g_step = "startup";
static IASIO* g_driver = nullptr;

static void vline(const char* tag, const char* step, const char* fmt, va_list ap) {
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    printf("%s %s %s %s\n", tag, step, kDash, detail);
    fflush(stdout);
}

static bool check(bool ok, const char* step, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline(ok ? "pass" : "FAIL", step, fmt, ap);
    va_end(ap);
    if (ok) {
        ++g_passed;
    } else {
        ++g_failed;
    }
    return ok;
}

static void info(const char* step, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline("info", step, fmt, ap);
    va_end(ap);
}

// Fetches the driver's error message into out (always NUL-terminated). Returns false if
// the driver wrote past the 124-byte buffer or left it unterminated.
static bool driver_error(std::string& out) {
    out.clear();
    if (!g_driver) return true;
    char buf[124 + 64];
    memset(buf, 0xA5, sizeof buf);
    buf[0] = '\0';
    g_driver->getErrorMessage(buf);
    bool within = true;
    for (size_t i = 124; i < sizeof buf; ++i) {
        if (static_cast<unsigned char>(buf[i]) != 0xA5) within = false;
    }
    if (memchr(buf, '\0', 124) == nullptr) within = false;
    out.assign(buf, strnlen(buf, 124));
    return within;
}

static std::string errtext() {
    std::string m;
    bool ok = driver_error(m);
    std::string s = "driver says \"" + m + "\"";
    if (!ok) s += " (getErrorMessage overran 124 bytes or is unterminated!)";
    return s;
}

static const char* ase_name(long e) {
    switch (e) {
    case ASE_OK: return "ASE_OK";
    case ASE_SUCCESS: return "ASE_SUCCESS";
    case ASE_NotPresent: return "ASE_NotPresent";
    case ASE_HWMalfunction: return "ASE_HWMalfunction";
    case ASE_InvalidParameter: return "ASE_InvalidParameter";
    case ASE_InvalidMode: return "ASE_InvalidMode";
    case ASE_SPNotAdvancing: return "ASE_SPNotAdvancing";
    case ASE_NoClock: return "ASE_NoClock";
    case ASE_NoMemory: return "ASE_NoMemory";
    default: return "?";
    }
}

static const char* sample_type_name(long t) {
    switch (t) {
    case ASIOSTInt16LSB: return "Int16LSB";
    case ASIOSTInt24LSB: return "Int24LSB";
    case ASIOSTInt32LSB: return "Int32LSB";
    case ASIOSTFloat32LSB: return "Float32LSB";
    case ASIOSTFloat64LSB: return "Float64LSB";
    case ASIOSTInt32LSB16: return "Int32LSB16";
    case ASIOSTInt32LSB18: return "Int32LSB18";
    case ASIOSTInt32LSB20: return "Int32LSB20";
    case ASIOSTInt32LSB24: return "Int32LSB24";
    default: return nullptr;
    }
}

static uint64_t u64(const ASIOSamples& s) {
    return (static_cast<uint64_t>(s.hi) << 32) | static_cast<uint64_t>(s.lo);
}
static uint64_t u64(const ASIOTimeStamp& s) {
    return (static_cast<uint64_t>(s.hi) << 32) | static_cast<uint64_t>(s.lo);
}

static bool is_pow2(long v) { return v > 0 && (v & (v - 1)) == 0; }

static LONG WINAPI crash_filter(EXCEPTION_POINTERS* ep) {
    printf("FAIL crash %s unhandled exception 0x%08lx at %p during step '%s'\n", kDash,
           static_cast<unsigned long>(ep->ExceptionRecord->ExceptionCode),
           ep->ExceptionRecord->ExceptionAddress, g_step);
    printf("cpp-host: %d passed, %d failed\n", g_passed, g_failed + 1);
    fflush(stdout);
    return EXCEPTION_EXECUTE_HANDLER;
}

// ---------------------------------------------------------------------------
// Streaming state (shared with the driver's callback thread)
// ---------------------------------------------------------------------------

struct SwitchRecord {
    uint64_t timePos;      // ASIOTime samplePosition (or getSamplePosition for plain switch)
    uint64_t timeSys;      // ASIOTime systemTime, ns
    uint64_t spPos;        // getSamplePosition() called inside the callback
    uint64_t spSys;
    uint32_t tgt;          // timeGetTime() in the callback, ms
    unsigned long flags;   // AsioTimeInfo.flags
    long spErr;
    long index;
    int withTimeInfo;
};

static std::atomic<bool> g_stopped{false};
static std::atomic<bool> g_inCallback{false};
static std::atomic<long> g_lateCalls{0};
static std::atomic<long> g_overlaps{0};
static std::atomic<long> g_switchTimeInfo{0};
static std::atomic<long> g_switchPlain{0};
static std::atomic<long> g_badIndex{0};
static std::atomic<long> g_resetRequests{0};
static std::atomic<long> g_overloads{0};
static std::atomic<long> g_latencyChanges{0};
static std::atomic<long> g_rateChanges{0};
static std::atomic<uint32_t> g_selectorsAsked{0};  // bit n = asioMessage selector n asked
static std::atomic<size_t> g_recCount{0};

static SwitchRecord* g_rec = nullptr;
static size_t g_recCap = 0;
static ASIOBufferInfo* g_outInfos = nullptr;  // output entries of the buffer-info array
static long* g_outTypes = nullptr;
static long g_numOut = 0;
static long g_bufSize = 0;
static float* g_scratch = nullptr;
static double g_phase = 0.0;
static double g_phaseInc = 0.0;
static bool g_callOutputReady = false;

static const double kTwoPi = 6.283185307179586;
static const double kAmplitude = 0.05;  // about -26 dBFS

static inline int32_t to_int(float s, double full) {
    double v = static_cast<double>(s) * full;
    if (v > full) v = full;
    if (v < -full - 1.0) v = -full - 1.0;
    return static_cast<int32_t>(std::lround(v));
}

static void write_outputs(long index) {
    const long n = g_bufSize;
    for (long i = 0; i < n; ++i) {
        g_scratch[i] = static_cast<float>(kAmplitude * std::sin(g_phase));
        g_phase += g_phaseInc;
        if (g_phase >= kTwoPi) g_phase -= kTwoPi;
    }
    for (long c = 0; c < g_numOut; ++c) {
        void* buf = g_outInfos[c].buffers[index];
        if (!buf) continue;
        switch (g_outTypes[c]) {
        case ASIOSTFloat32LSB: {
            float* p = static_cast<float*>(buf);
            for (long i = 0; i < n; ++i) p[i] = g_scratch[i];
            break;
        }
        case ASIOSTFloat64LSB: {
            double* p = static_cast<double*>(buf);
            for (long i = 0; i < n; ++i) p[i] = g_scratch[i];
            break;
        }
        case ASIOSTInt32LSB: {
            int32_t* p = static_cast<int32_t*>(buf);
            for (long i = 0; i < n; ++i) p[i] = to_int(g_scratch[i], 2147483647.0);
            break;
        }
        case ASIOSTInt32LSB16:
        case ASIOSTInt32LSB18:
        case ASIOSTInt32LSB20:
        case ASIOSTInt32LSB24: {
            const double full = g_outTypes[c] == ASIOSTInt32LSB16   ? 32767.0
                                : g_outTypes[c] == ASIOSTInt32LSB18 ? 131071.0
                                : g_outTypes[c] == ASIOSTInt32LSB20 ? 524287.0
                                                                    : 8388607.0;
            int32_t* p = static_cast<int32_t*>(buf);
            for (long i = 0; i < n; ++i) p[i] = to_int(g_scratch[i], full);
            break;
        }
        case ASIOSTInt16LSB: {
            int16_t* p = static_cast<int16_t*>(buf);
            for (long i = 0; i < n; ++i) p[i] = static_cast<int16_t>(to_int(g_scratch[i], 32767.0));
            break;
        }
        case ASIOSTInt24LSB: {
            unsigned char* p = static_cast<unsigned char*>(buf);
            for (long i = 0; i < n; ++i) {
                const uint32_t v = static_cast<uint32_t>(to_int(g_scratch[i], 8388607.0));
                p[3 * i + 0] = static_cast<unsigned char>(v & 0xff);
                p[3 * i + 1] = static_cast<unsigned char>((v >> 8) & 0xff);
                p[3 * i + 2] = static_cast<unsigned char>((v >> 16) & 0xff);
            }
            break;
        }
        default:
            break;  // unknown type: reported at getChannelInfo; leave untouched
        }
    }
}

static void on_switch(const ASIOTime* t, long index, bool withTimeInfo) {
    if (g_stopped.load(std::memory_order_acquire)) {
        g_lateCalls.fetch_add(1);
        return;
    }
    if (g_inCallback.exchange(true)) g_overlaps.fetch_add(1);

    SwitchRecord r{};
    r.tgt = timeGetTime();
    ASIOSamples sp{};
    ASIOTimeStamp ts{};
    r.spErr = g_driver->getSamplePosition(&sp, &ts);
    r.spPos = u64(sp);
    r.spSys = u64(ts);
    r.index = index;
    r.withTimeInfo = withTimeInfo ? 1 : 0;
    if (t) {
        r.timePos = u64(t->timeInfo.samplePosition);
        r.timeSys = u64(t->timeInfo.systemTime);
        r.flags = t->timeInfo.flags;
    } else {
        r.timePos = r.spPos;
        r.timeSys = r.spSys;
        r.flags = (r.spErr == ASE_OK) ? (kSystemTimeValid | kSamplePositionValid) : 0;
    }

    if (index == 0 || index == 1) {
        write_outputs(index);
    } else {
        g_badIndex.fetch_add(1);
    }

    const size_t i = g_recCount.fetch_add(1);
    if (i < g_recCap) g_rec[i] = r;

    if (withTimeInfo) {
        g_switchTimeInfo.fetch_add(1);
    } else {
        g_switchPlain.fetch_add(1);
    }
    if (g_callOutputReady) g_driver->outputReady();
    g_inCallback.store(false);
}

static void cb_bufferSwitch(long index, ASIOBool /*directProcess*/) {
    on_switch(nullptr, index, false);
}

static ASIOTime* cb_bufferSwitchTimeInfo(ASIOTime* params, long index, ASIOBool /*directProcess*/) {
    on_switch(params, index, true);
    return params;
}

static void cb_sampleRateDidChange(double /*rate*/) {
    if (g_stopped.load(std::memory_order_acquire)) g_lateCalls.fetch_add(1);
    g_rateChanges.fetch_add(1);
}

static long cb_asioMessage(long selector, long value, void* /*message*/, double* /*opt*/) {
    if (g_stopped.load(std::memory_order_acquire)) g_lateCalls.fetch_add(1);
    if (selector >= 0 && selector < 32) g_selectorsAsked.fetch_or(1u << selector);
    switch (selector) {
    case kAsioSelectorSupported:
        switch (value) {
        case kAsioEngineVersion:
        case kAsioResetRequest:
        case kAsioLatenciesChanged:
        case kAsioSupportsTimeInfo:
        case kAsioOverload:
            return 1;
        default:
            return 0;
        }
    case kAsioEngineVersion:
        return 2;
    case kAsioResetRequest:
        g_resetRequests.fetch_add(1);
        return 1;
    case kAsioLatenciesChanged:
        g_latencyChanges.fetch_add(1);
        return 1;
    case kAsioSupportsTimeInfo:
        return 1;
    case kAsioOverload:
        g_overloads.fetch_add(1);
        return 1;
    default:
        return 0;
    }
}

// ---------------------------------------------------------------------------
// Registry lookup
// ---------------------------------------------------------------------------

static bool read_reg_string(HKEY root, const std::string& sub, const char* value, std::string& out) {
    HKEY key = nullptr;
    if (RegOpenKeyExA(root, sub.c_str(), 0, KEY_READ, &key) != ERROR_SUCCESS) return false;
    char buf[1024];
    DWORD type = 0;
    DWORD size = sizeof buf - 1;
    LONG rc = RegQueryValueExA(key, value, nullptr, &type, reinterpret_cast<BYTE*>(buf), &size);
    RegCloseKey(key);
    if (rc != ERROR_SUCCESS || (type != REG_SZ && type != REG_EXPAND_SZ)) return false;
    buf[std::min<DWORD>(size, sizeof buf - 1)] = '\0';
    out = buf;
    return true;
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

static int finish(int code) {
    printf("cpp-host: %d passed, %d failed\n", g_passed, g_failed);
    fflush(stdout);
    if (code != 0) return code;
    return g_failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    SetConsoleOutputCP(CP_UTF8);
    SetUnhandledExceptionFilter(crash_filter);

    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: asio_host.exe [driver-name] [seconds] [buffer-frames]\n");
        return 0;
    }
    const std::string name = argc > 1 ? argv[1] : "Tenuto";
    const double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    const long argFrames = argc > 3 ? atol(argv[3]) : 0;
    if (!(seconds > 0.0 && seconds < 3600.0) || argFrames < 0) {
        fprintf(stderr, "asio_host: bad arguments (seconds must be > 0, buffer-frames >= 0)\n");
        return 2;
    }

    // --- find the driver like hosts do -----------------------------------------
    g_step = "registry";
    const std::string asioKey = "SOFTWARE\\ASIO\\" + name;
    std::string clsidStr, description;
    if (!read_reg_string(HKEY_LOCAL_MACHINE, asioKey, "CLSID", clsidStr)) {
        check(false, "registry",
              "driver not registered: no CLSID string value under HKEY_LOCAL_MACHINE\\%s",
              asioKey.c_str());
        return finish(2);
    }
    if (!read_reg_string(HKEY_LOCAL_MACHINE, asioKey, "Description", description)) {
        description = "(no Description value)";
    }
    CLSID clsid{};
    {
        wchar_t wide[128] = {};
        MultiByteToWideChar(CP_ACP, 0, clsidStr.c_str(), -1, wide, 127);
        HRESULT hr = CLSIDFromString(wide, &clsid);
        if (!check(SUCCEEDED(hr), "registry", "HKLM\\%s: CLSID %s, Description \"%s\"%s",
                   asioKey.c_str(), clsidStr.c_str(), description.c_str(),
                   SUCCEEDED(hr) ? "" : " (CLSIDFromString failed)")) {
            return finish(2);
        }
    }
    {
        std::string dll, threading;
        const std::string inproc = "CLSID\\" + clsidStr + "\\InprocServer32";
        const bool haveDll = read_reg_string(HKEY_CLASSES_ROOT, inproc, nullptr, dll);
        read_reg_string(HKEY_CLASSES_ROOT, inproc, "ThreadingModel", threading);
        check(haveDll && dll.size() < 128 && _stricmp(threading.c_str(), "Both") == 0,
              "registry-inproc", "HKCR\\%s = \"%s\" (%zu chars, must be < 128), ThreadingModel=\"%s\"",
              inproc.c_str(), dll.c_str(), dll.size(), threading.c_str());
    }

    g_step = "CoCreateInstance";
    HRESULT hrInit = CoInitialize(nullptr);
    if (FAILED(hrInit)) {
        check(false, "CoInitialize", "hr=0x%08lx", static_cast<unsigned long>(hrInit));
        return finish(1);
    }
    IASIO* driver = nullptr;
    HRESULT hr = CoCreateInstance(clsid, nullptr, CLSCTX_INPROC_SERVER, clsid,
                                  reinterpret_cast<void**>(&driver));
    if (!check(SUCCEEDED(hr) && driver != nullptr, "CoCreateInstance",
               "hr=0x%08lx (CLSID used as IID), object %p", static_cast<unsigned long>(hr),
               static_cast<void*>(driver))) {
        CoUninitialize();
        return finish(1);
    }
    g_driver = driver;

    // --- init and static queries -------------------------------------------------
    g_step = "init";
    {
        ASIOBool r = driver->init(nullptr);
        if (!check(r == 1, "init", "returned %ld%s%s", r, r == 1 ? "" : "; ",
                   r == 1 ? "" : errtext().c_str())) {
            g_step = "Release";
            ULONG refs = driver->Release();
            g_driver = nullptr;
            check(refs == 0, "Release", "returned %lu", static_cast<unsigned long>(refs));
            CoUninitialize();
            return finish(1);
        }
    }

    g_step = "getDriverName";
    {
        char buf[32 + 32];
        memset(buf, 0xA5, sizeof buf);
        buf[0] = '\0';
        driver->getDriverName(buf);
        bool within = memchr(buf, '\0', 32) != nullptr;
        for (size_t i = 32; i < sizeof buf; ++i) {
            if (static_cast<unsigned char>(buf[i]) != 0xA5) within = false;
        }
        buf[31] = within ? buf[31] : '\0';
        check(within && buf[0] != '\0', "getDriverName", "\"%.31s\"%s", buf,
              within ? "" : " (wrote past 32 bytes or unterminated)");
    }

    g_step = "getDriverVersion";
    {
        long v = driver->getDriverVersion();
        check(true, "getDriverVersion", "%ld (0x%lx)", v, static_cast<unsigned long>(v));
    }

    g_step = "getChannels";
    long numIn = -1, numOut = -1;
    {
        ASIOError e = driver->getChannels(&numIn, &numOut);
        check(e == ASE_OK && numIn >= 0 && numOut >= 0 && numIn + numOut >= 1, "getChannels",
              "%ld (%s): %ld inputs, %ld outputs%s%s", e, ase_name(e), numIn, numOut,
              e == ASE_OK ? "" : "; ", e == ASE_OK ? "" : errtext().c_str());
        if (e != ASE_OK || numIn < 0 || numOut < 0 || numIn > 1024 || numOut > 1024) {
            numIn = numOut = 0;
        }
    }

    g_step = "getBufferSize";
    long bMin = 0, bMax = 0, bPref = 0, bGran = 0;
    {
        ASIOError e = driver->getBufferSize(&bMin, &bMax, &bPref, &bGran);
        bool ok = e == ASE_OK && bMin > 0 && bMin <= bPref && bPref <= bMax;
        const char* why = "";
        if (ok && bGran == -1 && !(is_pow2(bMin) && is_pow2(bPref) && is_pow2(bMax))) {
            ok = false;
            why = " (granularity -1 but sizes are not powers of two)";
        } else if (ok && bGran == 0 && bMin != bMax) {
            ok = false;
            why = " (granularity 0 but min != max)";
        } else if (ok && bMin == bMax && bGran != 0) {
            ok = false;
            why = " (min == max but granularity != 0)";
        } else if (ok && bGran > 0 && ((bPref - bMin) % bGran != 0 || (bMax - bMin) % bGran != 0)) {
            ok = false;
            why = " (sizes not on the granularity grid)";
        } else if (ok && bGran < -1) {
            ok = false;
            why = " (granularity < -1)";
        }
        check(ok, "getBufferSize", "%ld (%s): min %ld, max %ld, preferred %ld, granularity %ld%s%s%s",
              e, ase_name(e), bMin, bMax, bPref, bGran, why, e == ASE_OK ? "" : "; ",
              e == ASE_OK ? "" : errtext().c_str());
    }

    g_step = "getSampleRate";
    double rate = 0.0;
    {
        ASIOError e = driver->getSampleRate(&rate);
        check(e == ASE_OK && rate > 0.0 && std::isfinite(rate), "getSampleRate", "%ld (%s): %.1f Hz%s%s",
              e, ase_name(e), rate, e == ASE_OK ? "" : "; ", e == ASE_OK ? "" : errtext().c_str());
    }

    g_step = "canSampleRate";
    {
        ASIOError e = driver->canSampleRate(rate);
        check(e == ASE_OK, "canSampleRate(current)", "canSampleRate(%.1f) = %ld (%s)%s%s", rate, e,
              ase_name(e), e == ASE_OK ? "" : "; ", e == ASE_OK ? "" : errtext().c_str());

        struct Bad {
            const char* step;
            const char* what;
            double value;
            bool set;
        } bad[] = {
            {"canSampleRate(NaN)", "canSampleRate(NaN)", std::numeric_limits<double>::quiet_NaN(), false},
            {"canSampleRate(-1)", "canSampleRate(-1.0)", -1.0, false},
            {"setSampleRate(0)", "setSampleRate(0.0)", 0.0, true},
        };
        for (const Bad& b : bad) {
            g_step = b.step;
            ASIOError r = b.set ? driver->setSampleRate(b.value) : driver->canSampleRate(b.value);
            std::string msg;
            bool msgOk = driver_error(msg);
            check(r != ASE_OK && msgOk && !msg.empty(), b.step, "%s = %ld (%s), error message \"%s\"%s",
                  b.what, r, ase_name(r), msg.c_str(), msgOk ? "" : " (overran 124 bytes)");
        }
    }

    g_step = "setSampleRate(48000)";
    {
        ASIOError e = driver->setSampleRate(48000.0);
        check(e == ASE_OK, "setSampleRate(48000)", "%ld (%s)%s%s", e, ase_name(e),
              e == ASE_OK ? "" : "; ", e == ASE_OK ? "" : errtext().c_str());
        double now = 0.0;
        ASIOError e2 = driver->getSampleRate(&now);
        if (e == ASE_OK) {
            check(e2 == ASE_OK && now == 48000.0, "getSampleRate(after set)", "%ld (%s): %.1f Hz", e2,
                  ase_name(e2), now);
        }
        if (e2 == ASE_OK && now > 0.0 && std::isfinite(now)) rate = now;
    }

    g_step = "getChannelInfo";
    std::vector<ASIOChannelInfo> chanInfo;
    {
        for (int dir = 0; dir < 2; ++dir) {
            const long count = dir == 0 ? numIn : numOut;
            for (long ch = 0; ch < count; ++ch) {
                ASIOChannelInfo ci{};
                ci.channel = ch;
                ci.isInput = dir == 0 ? 1 : 0;
                ci.type = -1;
                ASIOError e = driver->getChannelInfo(&ci);
                const bool term = memchr(ci.name, '\0', sizeof ci.name) != nullptr;
                ci.name[31] = term ? ci.name[31] : '\0';
                const char* tn = sample_type_name(ci.type);
                char step[64];
                snprintf(step, sizeof step, "getChannelInfo(%s %ld)", dir == 0 ? "in" : "out", ch);
                check(e == ASE_OK && term && ci.name[0] != '\0' && tn != nullptr && ci.channel == ch &&
                          ci.isInput == (dir == 0 ? 1 : 0),
                      step, "%ld (%s): \"%s\", type %ld (%s), group %ld, active %ld%s%s%s", e, ase_name(e),
                      ci.name, ci.type, tn ? tn : "unsupported by this host", ci.channelGroup,
                      ci.isActive, term ? "" : " (name unterminated)", e == ASE_OK ? "" : "; ",
                      e == ASE_OK ? "" : errtext().c_str());
                chanInfo.push_back(ci);
            }
        }
    }

    g_step = "getLatencies";
    {
        long li = -1, lo = -1;
        ASIOError e = driver->getLatencies(&li, &lo);
        check(e == ASE_OK, "getLatencies", "%ld (%s): input %ld, output %ld frames%s%s", e, ase_name(e), li,
              lo, e == ASE_OK ? "" : "; ", e == ASE_OK ? "" : errtext().c_str());
    }

    g_step = "getClockSources";
    {
        ASIOClockSource cs[5];
        memset(cs, 0xA5, sizeof cs);
        long num = 4;
        ASIOError e = driver->getClockSources(cs, &num);
        bool canary = true;
        const unsigned char* tail = reinterpret_cast<const unsigned char*>(&cs[4]);
        for (size_t i = 0; i < sizeof cs[4]; ++i) {
            if (tail[i] != 0xA5) canary = false;
        }
        std::string names;
        long current = 0;
        if (e == ASE_OK && num >= 1 && num <= 4) {
            for (long i = 0; i < num; ++i) {
                cs[i].name[31] = memchr(cs[i].name, '\0', 32) ? cs[i].name[31] : '\0';
                if (!names.empty()) names += ", ";
                names += "#" + std::to_string(cs[i].index) + " \"" + cs[i].name + "\"";
                if (cs[i].isCurrentSource) {
                    names += " (current)";
                    ++current;
                }
            }
        }
        check(e == ASE_OK && num >= 1 && num <= 4 && canary, "getClockSources",
              "%ld (%s): %ld source(s): %s%s%s%s", e, ase_name(e), num, names.c_str(),
              canary ? "" : " (wrote past the capacity of 4!)", e == ASE_OK ? "" : "; ",
              e == ASE_OK ? "" : errtext().c_str());
    }

    g_step = "getSamplePosition(before start)";
    {
        ASIOSamples sp{};
        ASIOTimeStamp ts{};
        ASIOError e = driver->getSamplePosition(&sp, &ts);
        check(e != ASE_OK, "getSamplePosition(before start)", "%ld (%s), must not be ASE_OK", e, ase_name(e));
    }

    // --- buffers ---------------------------------------------------------------------
    g_step = "createBuffers";
    const long frames = argFrames > 0 ? argFrames : bPref;
    const long total = numIn + numOut;
    std::vector<ASIOBufferInfo> infos(static_cast<size_t>(total));
    for (long i = 0; i < total; ++i) {
        infos[i].isInput = i < numIn ? 1 : 0;
        infos[i].channelNum = i < numIn ? i : i - numIn;
        infos[i].buffers[0] = infos[i].buffers[1] = nullptr;
    }
    std::vector<long> outTypes(static_cast<size_t>(numOut), -1);
    for (long i = 0; i < numOut; ++i) {
        outTypes[i] = chanInfo.size() == static_cast<size_t>(total) ? chanInfo[numIn + i].type : -1;
    }
    static ASIOCallbacks callbacks;
    callbacks.bufferSwitch = cb_bufferSwitch;
    callbacks.sampleRateDidChange = cb_sampleRateDidChange;
    callbacks.asioMessage = cb_asioMessage;
    callbacks.bufferSwitchTimeInfo = cb_bufferSwitchTimeInfo;

    // Everything the callbacks touch is allocated before createBuffers / start.
    const double expected = seconds * rate / static_cast<double>(frames > 0 ? frames : 1);
    std::vector<SwitchRecord> records(static_cast<size_t>(expected * 2.0) + 4096);
    std::vector<float> scratch(static_cast<size_t>(frames > 0 ? frames : 1));
    g_rec = records.data();
    g_recCap = records.size();
    g_scratch = scratch.data();
    g_outInfos = infos.data() + numIn;
    g_outTypes = outTypes.data();
    g_numOut = numOut;
    g_bufSize = frames;
    g_phaseInc = kTwoPi * 440.0 / (rate > 0.0 ? rate : 48000.0);

    bool buffersOk = false;
    {
        ASIOError e = frames > 0 && total > 0 ? driver->createBuffers(infos.data(), total, frames, &callbacks)
                                              : ASE_InvalidParameter;
        bool ptrs = true;
        for (const ASIOBufferInfo& bi : infos) {
            if (!bi.buffers[0] || !bi.buffers[1] || bi.buffers[0] == bi.buffers[1]) ptrs = false;
        }
        buffersOk = e == ASE_OK && ptrs;
        check(buffersOk, "createBuffers", "%ld (%s): %ld inputs + %ld outputs at %ld frames%s%s%s", e,
              ase_name(e), numIn, numOut, frames, ptrs ? "" : ", missing or identical buffer halves",
              e == ASE_OK ? "" : "; ", e == ASE_OK ? "" : errtext().c_str());
    }

    if (buffersOk) {
        // Pre-fill both output halves with silence.
        for (long c = 0; c < numOut; ++c) {
            long t = outTypes[c];
            size_t bytes = t == ASIOSTInt16LSB ? 2 : t == ASIOSTInt24LSB ? 3 : t == ASIOSTFloat64LSB ? 8 : 4;
            for (int h = 0; h < 2; ++h) {
                if (sample_type_name(t)) memset(g_outInfos[c].buffers[h], 0, bytes * static_cast<size_t>(frames));
            }
        }

        g_step = "getLatencies(after createBuffers)";
        long li = -1, lo = -1;
        ASIOError e = driver->getLatencies(&li, &lo);
        check(e == ASE_OK && lo >= frames, "getLatencies(after createBuffers)",
              "%ld (%s): input %ld, output %ld frames (output must include the %ld-frame buffer)", e,
              ase_name(e), li, lo, frames);

        g_step = "outputReady(probe)";
        ASIOError orr = driver->outputReady();
        g_callOutputReady = orr == ASE_OK;
        info("outputReady", "%ld (%s) %s", orr, ase_name(orr),
             g_callOutputReady ? "- will call it after every switch" : "- not used");

        // --- stream --------------------------------------------------------------
        g_step = "start";
        LARGE_INTEGER qpf, t0, t1;
        QueryPerformanceFrequency(&qpf);
        ASIOError es = driver->start();
        QueryPerformanceCounter(&t0);
        bool started = check(es == ASE_OK, "start", "%ld (%s)%s%s", es, ase_name(es), es == ASE_OK ? "" : "; ",
                             es == ASE_OK ? "" : errtext().c_str());
        if (started) {
            g_step = "streaming";
            Sleep(static_cast<DWORD>(seconds * 1000.0));
        }
        g_step = "stop";
        QueryPerformanceCounter(&t1);
        ASIOError et = driver->stop();
        g_stopped.store(true, std::memory_order_release);
        const size_t switchesAtStop = g_recCount.load();
        check(et == ASE_OK, "stop", "%ld (%s)%s%s", et, ase_name(et), et == ASE_OK ? "" : "; ",
              et == ASE_OK ? "" : errtext().c_str());
        Sleep(50);
        check(g_lateCalls.load() == 0, "no-callbacks-after-stop", "%ld callback(s) after stop() returned",
              g_lateCalls.load());

        if (started) {
            g_step = "analysis";
            const double elapsed = static_cast<double>(t1.QuadPart - t0.QuadPart) / static_cast<double>(qpf.QuadPart);
            const double want = elapsed * rate / static_cast<double>(frames);
            const size_t n = std::min(switchesAtStop, g_recCap);
            const long ti = g_switchTimeInfo.load(), pl = g_switchPlain.load();
            std::string asked;
            const uint32_t mask = g_selectorsAsked.load();
            for (int b = 0; b < 32; ++b) {
                if (mask & (1u << b)) asked += (asked.empty() ? "" : ",") + std::to_string(b);
            }
            info("callbacks", "%ld bufferSwitchTimeInfo, %ld bufferSwitch; asioMessage selectors asked: {%s}; "
                 "%ld reset request(s), %ld overload(s), %ld latency change(s), %ld rate change(s)",
                 ti, pl, asked.c_str(), g_resetRequests.load(),
                 g_overloads.load(), g_latencyChanges.load(), g_rateChanges.load());

            check(static_cast<double>(switchesAtStop) >= 0.9 * want &&
                      static_cast<double>(switchesAtStop) <= 1.1 * want + 4.0,
                  "switch-count", "%zu switches in %.3f s, expected %.1f (%.1f%%)", switchesAtStop, elapsed, want,
                  want > 0 ? 100.0 * static_cast<double>(switchesAtStop) / want : 0.0);

            check(g_overlaps.load() == 0 && g_badIndex.load() == 0, "callback-discipline",
                  "%ld overlapping callback(s), %ld bad buffer index(es)", g_overlaps.load(), g_badIndex.load());

            // index alternates 0,1,0,1...
            size_t badAlt = 0;
            for (size_t i = 1; i < n; ++i) {
                if (g_rec[i].index == g_rec[i - 1].index) ++badAlt;
            }
            check(n > 0 && badAlt == 0, "buffer-index-alternates", "%zu repeat(s) in %zu switches, first index %ld",
                  badAlt, n, n > 0 ? g_rec[0].index : -1L);

            size_t badFlags = 0;
            for (size_t i = 0; i < n; ++i) {
                const unsigned long need = kSystemTimeValid | kSamplePositionValid;
                if ((g_rec[i].flags & need) != need) ++badFlags;
            }
            check(n > 0 && badFlags == 0, "timeinfo-flags",
                  "%zu of %zu switches lack SystemTimeValid|SamplePositionValid (first flags 0x%lx)", badFlags, n,
                  n > 0 ? g_rec[0].flags : 0UL);

            size_t badStep = 0, firstBad = 0;
            for (size_t i = 1; i < n; ++i) {
                if (g_rec[i].timePos - g_rec[i - 1].timePos != static_cast<uint64_t>(frames)) {
                    if (badStep++ == 0) firstBad = i;
                }
            }
            char firstBadText[128] = "";
            if (badStep) {
                snprintf(firstBadText, sizeof firstBadText, "; first at switch %zu: %llu -> %llu", firstBad,
                         static_cast<unsigned long long>(g_rec[firstBad - 1].timePos),
                         static_cast<unsigned long long>(g_rec[firstBad].timePos));
            }
            check(n > 0 && g_rec[0].timePos == 0 && badStep == 0, "sample-positions",
                  "first %llu, last %llu, %zu step(s) != %ld frames%s",
                  static_cast<unsigned long long>(n ? g_rec[0].timePos : 0),
                  static_cast<unsigned long long>(n ? g_rec[n - 1].timePos : 0), badStep, frames, firstBadText);

            size_t nonInc = 0;
            for (size_t i = 1; i < n; ++i) {
                if (g_rec[i].timeSys <= g_rec[i - 1].timeSys) ++nonInc;
            }
            double meanMs = 0.0;
            if (n > 1) {
                meanMs = static_cast<double>(g_rec[n - 1].timeSys - g_rec[0].timeSys) / 1e6 / static_cast<double>(n - 1);
            }
            check(n > 1 && nonInc == 0, "system-times", "%zu non-increasing step(s); mean interval %.3f ms (buffer %.3f ms)",
                  nonInc, meanMs, 1000.0 * static_cast<double>(frames) / rate);

            // Informational: systemTime vs timeGetTime() read in the callback.
            if (n > 0) {
                long lo = 0, hi = 0;
                for (size_t i = 0; i < n; ++i) {
                    const uint32_t sysMs = static_cast<uint32_t>(g_rec[i].timeSys / 1000000ULL);
                    const long d = static_cast<long>(static_cast<int32_t>(sysMs - g_rec[i].tgt));
                    if (i == 0 || d < lo) lo = d;
                    if (i == 0 || d > hi) hi = d;
                }
                info("timeGetTime", "systemTime - timeGetTime() in the callback: %ld .. %ld ms", lo, hi);
            }

            size_t spFail = 0, spMismatch = 0, spFirst = 0;
            for (size_t i = 0; i < n; ++i) {
                if (g_rec[i].spErr != ASE_OK) {
                    ++spFail;
                } else if (g_rec[i].spPos != g_rec[i].timePos) {
                    if (spMismatch++ == 0) spFirst = i;
                }
            }
            char mm[160] = "";
            if (spMismatch) {
                snprintf(mm, sizeof mm, "; first at switch %zu: getSamplePosition %llu vs ASIOTime %llu", spFirst,
                         static_cast<unsigned long long>(g_rec[spFirst].spPos),
                         static_cast<unsigned long long>(g_rec[spFirst].timePos));
            }
            check(n > 0 && spFail == 0 && spMismatch == 0, "getSamplePosition(in callback)",
                  "%zu call(s) failed, %zu mismatch(es) with the ASIOTime position in %zu switches%s", spFail,
                  spMismatch, n, mm);
        }
    }

    // --- future() and teardown ---------------------------------------------------
    g_step = "future(kAsioCanReportOverload)";
    {
        ASIOError e = driver->future(kAsioCanReportOverload, nullptr);
        check(e == ASE_SUCCESS, "future(kAsioCanReportOverload)", "0x%08lx (%s), want ASE_SUCCESS 0x3f4847a0",
              static_cast<unsigned long>(e), ase_name(e));
    }
    g_step = "future(kAsioGetInternalBufferSamples)";
    {
        AsioInternalBufferSamples s{-1, -1};
        ASIOError e = driver->future(kAsioGetInternalBufferSamples, &s);
        check(e == ASE_SUCCESS, "future(kAsioGetInternalBufferSamples)",
              "0x%08lx (%s): input %ld, output %ld samples", static_cast<unsigned long>(e), ase_name(e),
              s.inputSamples, s.outputSamples);
    }

    if (buffersOk) {
        g_step = "disposeBuffers";
        ASIOError e = driver->disposeBuffers();
        check(e == ASE_OK, "disposeBuffers", "%ld (%s)%s%s", e, ase_name(e), e == ASE_OK ? "" : "; ",
              e == ASE_OK ? "" : errtext().c_str());
    }

    g_step = "Release";
    ULONG refs = driver->Release();
    g_driver = nullptr;
    check(refs == 0, "Release", "returned %lu", static_cast<unsigned long>(refs));
    CoUninitialize();
    return finish(0);
}
