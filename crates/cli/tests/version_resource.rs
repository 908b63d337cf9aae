//! tenuto.exe's VERSIONINFO agrees with `tenuto --version` and the crate
//! version (Windows only; under Wine in CI).

#![cfg(windows)]

use std::path::Path;
use std::process::Command;

#[test]
fn version_resource_matches_dash_dash_version() {
    let exe = Path::new(env!("CARGO_BIN_EXE_tenuto"));
    let out = Command::new(exe)
        .arg("--version")
        .output()
        .expect("run tenuto --version");
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        printed.trim(),
        concat!("tenuto ", env!("CARGO_PKG_VERSION"))
    );

    let info = tenuto_host::version::read(exe).expect("read tenuto.exe's VERSIONINFO");
    let cargo: Vec<u16> = env!("CARGO_PKG_VERSION")
        .split(['.', '-', '+'])
        .take(3)
        .map(|p| p.parse().expect("numeric version part"))
        .collect();
    assert_eq!(
        info.file[..3],
        cargo[..],
        "FILEVERSION of {}",
        exe.display()
    );
    assert_eq!(info.product[..3], cargo[..], "PRODUCTVERSION");
    assert_eq!(info.string("FileVersion"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(info.string("ProductName"), Some("Tenuto"));
    assert_eq!(info.string("OriginalFilename"), Some("tenuto.exe"));
    assert!(info
        .string("FileDescription")
        .is_some_and(|d| !d.is_empty()));
    assert!(info.string("CompanyName").is_some_and(|c| !c.is_empty()));
}
