//! tenuto.dll's VERSIONINFO agrees with the crate version and with what the
//! driver answers to `getDriverVersion` (Windows only; under Wine in CI).

#![cfg(windows)]

mod common;

use tenuto_host::dll::DllServer;

#[test]
fn version_resource_matches_get_driver_version() {
    let path = common::built_dll();
    let info = tenuto_host::version::read(&path).expect("read tenuto.dll's VERSIONINFO");
    let cargo: Vec<u16> = env!("CARGO_PKG_VERSION")
        .split(['.', '-', '+'])
        .take(3)
        .map(|p| p.parse().expect("numeric version part"))
        .collect();
    assert_eq!(
        info.file[..3],
        cargo[..],
        "FILEVERSION of {}",
        path.display()
    );
    assert_eq!(info.product[..3], cargo[..], "PRODUCTVERSION");
    assert_eq!(info.translation, "040904b0");
    assert_eq!(info.string("FileVersion"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        info.string("ProductVersion"),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(info.string("ProductName"), Some("Tenuto"));
    assert_eq!(info.string("FileDescription"), Some(tenuto::DESCRIPTION));
    assert_eq!(info.string("OriginalFilename"), Some("tenuto.dll"));
    assert!(info.string("CompanyName").is_some_and(|c| !c.is_empty()));

    // What a host sees: the DLL's own driver object, created as COM would.
    let server = DllServer::load(&path).expect("load tenuto.dll");
    let mut driver = server
        .create(tenuto::CLSID_TENUTO)
        .expect("create the driver");
    let reported = driver.version();
    let [major, minor, patch, _] = info.file.map(i32::from);
    assert_eq!(
        reported,
        major * 10_000 + minor * 100 + patch,
        "getDriverVersion against FILEVERSION {:?}",
        info.file
    );
    assert_eq!(reported, tenuto::driver_version());
}
