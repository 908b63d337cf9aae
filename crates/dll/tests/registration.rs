//! Registration writes exactly the keys ASIO hosts look for, and
//! unregistration removes exactly those — under Wine's registry in CI, on
//! Windows' own when run there (as administrator).

#![cfg(windows)]

use std::path::PathBuf;

use tenuto::registry::{self, asio_key, clsid_key, key_exists, read_string};
use tenuto::{CLSID_TENUTO, DESCRIPTION};

mod common;
use common::built_dll;

#[test]
fn register_writes_exactly_the_expected_keys_and_unregister_removes_exactly_them() {
    let was_registered = key_exists(&asio_key());
    let previous_path = read_string(&format!("{}\\InprocServer32", clsid_key()), None);

    // A sibling driver and the parent keys must survive unregistration.
    let sibling = "SOFTWARE\\ASIO\\Tenuto Test Sibling";
    let sibling_written = std::process::Command::new("reg")
        .args([
            "add",
            &format!("HKLM\\{sibling}"),
            "/v",
            "CLSID",
            "/d",
            "{00000000-0000-0000-0000-000000000001}",
            "/f",
        ])
        .output()
        .is_ok_and(|o| o.status.success());

    let dll = built_dll();
    let outcome = registry::register(&dll).expect("register");
    assert_eq!(outcome.lines.len(), 3, "{outcome:?}");

    let asio = asio_key();
    assert_eq!(
        read_string(&asio, Some("CLSID")),
        Some(CLSID_TENUTO.to_string())
    );
    assert_eq!(
        read_string(&asio, Some("Description")),
        Some(DESCRIPTION.to_owned())
    );
    let class = clsid_key();
    assert_eq!(read_string(&class, None), Some(DESCRIPTION.to_owned()));
    let server = format!("{class}\\InprocServer32");
    let path = read_string(&server, None).expect("InprocServer32 default value");
    assert!(
        path.to_ascii_lowercase().ends_with("tenuto.dll"),
        "InprocServer32 = {path}"
    );
    assert!(
        std::path::Path::new(&path).is_absolute(),
        "InprocServer32 = {path}"
    );
    assert_eq!(
        read_string(&server, Some("ThreadingModel")),
        Some("Both".to_owned())
    );
    // Nothing else: no values we did not write.
    assert_eq!(
        read_string(&asio, None),
        None,
        "no default value on the ASIO key"
    );

    // Registering twice is harmless.
    registry::register(&dll).expect("register again");

    let outcome = registry::unregister().expect("unregister");
    assert!(
        outcome.lines.iter().all(|l| l.starts_with("removed")),
        "{outcome:?}"
    );
    assert!(!key_exists(&asio));
    assert!(!key_exists(&class));
    assert!(
        key_exists("SOFTWARE\\ASIO"),
        "the ASIO parent key must stay"
    );
    assert!(
        key_exists("SOFTWARE\\Classes\\CLSID"),
        "the CLSID parent key must stay"
    );
    if sibling_written {
        assert!(key_exists(sibling), "another driver's key was removed");
        let _ = std::process::Command::new("reg")
            .args(["delete", &format!("HKLM\\{sibling}"), "/f"])
            .output();
    }

    // Unregistering when nothing is registered succeeds and says so.
    let outcome = registry::unregister().expect("unregister twice");
    assert!(
        outcome.lines.iter().all(|l| l.ends_with("was not there")),
        "{outcome:?}"
    );

    // Leave the machine as we found it.
    if was_registered {
        let restore = previous_path.map_or(dll, PathBuf::from);
        registry::register(&restore).expect("restore registration");
    }
}

#[test]
fn registering_a_missing_file_is_refused_with_its_path() {
    let err = registry::register(std::path::Path::new("C:\\nowhere\\tenuto.dll")).unwrap_err();
    assert!(err.to_string().contains("C:\\nowhere\\tenuto.dll"), "{err}");
}
