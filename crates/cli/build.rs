//! Embeds the VERSIONINFO resource in tenuto.exe (Windows targets only):
//! the file version is the crate version, as `tenuto --version` prints it,
//! so Explorer's file properties agree. The resource is compiled by mingw's
//! windres when cross-building (`x86_64-w64-mingw32-windres`,
//! `i686-w64-mingw32-windres`; `WINDRES` overrides it) and by the SDK's
//! rc.exe under MSVC.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The resource compiler winresource runs (mingw windres unless WINDRES names another).
    println!("cargo:rerun-if-env-changed=WINDRES");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let mut res = winresource::WindowsResource::new();
    // en-US, the language block GetFileVersionInfo callers look up first.
    res.set_language(0x0409)
        .set("ProductName", "Tenuto")
        .set("FileDescription", "Tenuto ASIO driver tool")
        .set("CompanyName", env!("CARGO_PKG_AUTHORS"))
        .set("LegalCopyright", "Licensed MIT OR Apache-2.0")
        .set("OriginalFilename", "tenuto.exe")
        .set("InternalName", "tenuto");
    // Only the `tenuto` binary: the crate's test executables need no resource.
    if let Err(e) = res.compile_for("tenuto") {
        panic!(
            "could not compile tenuto.exe's version resource: {e} (cross-building needs mingw's \
             windres: apt-get install binutils-mingw-w64-x86-64 binutils-mingw-w64-i686)"
        );
    }
}
