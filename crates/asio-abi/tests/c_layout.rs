//! Cross-checks the Rust layouts against a real C compiler.
//!
//! The C declarations below were written for this test from the public description of the
//! ABI, under `#pragma pack(push, 4)` as MSVC-compiled hosts declare them. One program is
//! compiled and run natively (x86_64, same pointer size as Win64) and its `sizeof` /
//! `_Alignof` / `offsetof` values are compared with Rust's. A second translation unit is
//! compiled for 32-bit x86 (`-m32 -malign-double`, which aligns `double` like MSVC) with
//! static assertions of the 32-bit expectations.
//!
//! Runs only on Linux x86_64, where a `cc` is required: a missing compiler fails the test.
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output};

use asio_abi::ASIO_TIME_ALLOC_SIZE;

const DECLS: &str = r#"
typedef __INT32_TYPE__ s32;
typedef __UINT32_TYPE__ u32;
typedef __UINT16_TYPE__ u16;
typedef __UINT8_TYPE__ u8;

#pragma pack(push, 4)

typedef struct AsioSamples { u32 hi; u32 lo; } AsioSamples;
typedef struct AsioTimeStamp { u32 hi; u32 lo; } AsioTimeStamp;

typedef struct AsioDriverInfo {
    s32 asio_version;
    s32 driver_version;
    char name[32];
    char error_message[124];
    void *sys_ref;
} AsioDriverInfo;

typedef struct AsioClockSource {
    s32 index;
    s32 associated_channel;
    s32 associated_group;
    s32 is_current_source;
    char name[32];
} AsioClockSource;

typedef struct AsioChannelInfo {
    s32 channel;
    s32 is_input;
    s32 is_active;
    s32 channel_group;
    s32 sample_type;
    char name[32];
} AsioChannelInfo;

typedef struct AsioBufferInfo {
    s32 is_input;
    s32 channel_num;
    void *buffers[2];
} AsioBufferInfo;

typedef struct AsioTimeInfo {
    double speed;
    AsioTimeStamp system_time;
    AsioSamples sample_position;
    double sample_rate;
    u32 flags;
    u8 reserved[12];
} AsioTimeInfo;

typedef struct AsioTimeCode {
    double speed;
    AsioSamples time_code_samples;
    u32 flags;
    u8 future[64];
} AsioTimeCode;

typedef struct AsioTime {
    s32 reserved[4];
    AsioTimeInfo time_info;
    AsioTimeCode time_code;
} AsioTime;

typedef struct AsioCallbacks {
    void (*buffer_switch)(s32 double_buffer_index, s32 direct_process);
    void (*sample_rate_did_change)(double s_rate);
    s32 (*asio_message)(s32 selector, s32 value, void *message, double *opt);
    AsioTime *(*buffer_switch_time_info)(AsioTime *params, s32 double_buffer_index,
                                         s32 direct_process);
} AsioCallbacks;

typedef struct AsioInternalBufferInfo {
    s32 input_samples;
    s32 output_samples;
} AsioInternalBufferInfo;

#pragma pack(pop)

/* The time structures as a host compiled without the packing pragma sees them. */
typedef struct AsioTimeInfoUnpacked {
    double speed;
    AsioTimeStamp system_time;
    AsioSamples sample_position;
    double sample_rate;
    u32 flags;
    u8 reserved[12];
} AsioTimeInfoUnpacked;

typedef struct AsioTimeCodeUnpacked {
    double speed;
    AsioSamples time_code_samples;
    u32 flags;
    u8 future[64];
} AsioTimeCodeUnpacked;

typedef struct AsioTimeUnpacked {
    s32 reserved[4];
    AsioTimeInfoUnpacked time_info;
    AsioTimeCodeUnpacked time_code;
} AsioTimeUnpacked;

/* COM declarations use the platform's default packing. */
typedef struct Guid { u32 data1; u16 data2; u16 data3; u8 data4[8]; } Guid;

typedef struct IAsioVtbl IAsioVtbl;
typedef struct IAsio { const IAsioVtbl *vtbl; } IAsio;
"#;

/// The vtable as 24 opaque method pointers, named like the Rust fields.
fn vtbl_decl() -> String {
    let mut s = String::from("struct IAsioVtbl {\n");
    for f in common::VTBL_FIELDS {
        writeln!(s, "    void (*{f})(void);").unwrap();
    }
    s.push_str("};\n");
    s
}

fn work_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("asio-abi-c-layout-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("could not run {cmd:?}: {e} (a C compiler `cc` is required for this test)")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn c_compiler_agrees_with_rust_on_x86_64() {
    let rust = common::rust_layout();
    let unpacked = common::unpacked_expectations();
    let mut src = String::from("#include <stddef.h>\n#include <stdio.h>\n");
    src.push_str(DECLS);
    src.push_str(&vtbl_decl());
    src.push_str("int main(void) {\n");
    for (key, _) in rust.iter().chain(&unpacked) {
        writeln!(
            src,
            "    printf(\"%s=%zu\\n\", \"{key}\", (size_t)({key}));"
        )
        .unwrap();
    }
    src.push_str("    return 0;\n}\n");

    let dir = work_dir("x86_64");
    let c_file = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&c_file, &src).expect("write C source");
    run(Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&c_file));
    let out = run(&mut Command::new(&exe));

    let c: BTreeMap<String, usize> = String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|line| {
            let (k, v) = line.rsplit_once('=').expect("key=value line");
            (k.to_string(), v.parse().expect("number"))
        })
        .collect();
    assert_eq!(
        c.len(),
        rust.len() + unpacked.len(),
        "every item was printed once"
    );

    let mut mismatches = Vec::new();
    for (key, rust_value) in &rust {
        if c[key] != *rust_value {
            mismatches.push(format!("{key}: C {} Rust {rust_value}", c[key]));
        }
    }
    for (key, expected) in &unpacked {
        if c[key] != *expected {
            mismatches.push(format!("{key}: C {} expected {expected}", c[key]));
        }
    }
    assert!(
        mismatches.is_empty(),
        "layout mismatches:\n{}",
        mismatches.join("\n")
    );
    assert!(c["sizeof(AsioTimeUnpacked)"] <= ASIO_TIME_ALLOC_SIZE);
    assert!(c["sizeof(AsioTime)"] <= ASIO_TIME_ALLOC_SIZE);
    assert_eq!(c["sizeof(IAsio)"], 8, "pointer size matches Win64");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn c_compiler_agrees_with_expectations_on_32_bit_x86() {
    let mut src = String::from("#define offsetof(t, f) __builtin_offsetof(t, f)\n");
    src.push_str(DECLS);
    src.push_str(&vtbl_decl());
    src.push_str("_Static_assert(sizeof(void *) == 4, \"32-bit target\");\n");
    for (key, value) in common::expected_layout(4)
        .iter()
        .chain(&common::unpacked_expectations())
    {
        writeln!(
            src,
            "_Static_assert(({key}) == {value}, \"{key} == {value}\");"
        )
        .unwrap();
    }
    let dir = work_dir("i386");
    let c_file = dir.join("layout32.c");
    std::fs::write(&c_file, &src).expect("write C source");
    run(Command::new("cc")
        .args([
            "-m32",
            "-malign-double",
            "-std=c11",
            "-fsyntax-only",
            "-Werror",
        ])
        .arg(&c_file));
    let _ = std::fs::remove_dir_all(&dir);
}
