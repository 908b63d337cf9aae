//! `tenuto list`: the ASIO drivers registered on this machine (Windows).

use std::process::ExitCode;

use clap::Args;

#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Print the list as JSON.
    #[arg(long)]
    json: bool,
}

#[cfg(not(windows))]
pub(crate) fn run(_args: &ListArgs) -> ExitCode {
    crate::windows_only::needs_windows(
        "list",
        "ASIO drivers are registered in the Windows registry (HKLM\\SOFTWARE\\ASIO)",
    )
}

#[cfg(windows)]
pub(crate) fn run(args: &ListArgs) -> ExitCode {
    let drivers = match tenuto_host::windows::installed_drivers() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("tenuto list: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The DLL's file version (its VERSIONINFO), as Explorer shows it.
    let version = |d: &tenuto_host::windows::InstalledDriver| -> Option<String> {
        let path = d.dll_path.as_ref().filter(|_| d.dll_exists)?;
        let v = tenuto_host::version::read(path).ok()?;
        Some(format!(
            "{}.{}.{}.{}",
            v.file[0], v.file[1], v.file[2], v.file[3]
        ))
    };
    if args.json {
        let list: Vec<serde_json::Value> = drivers
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.name,
                    "clsid": d.clsid.map(|g| g.to_string()),
                    "dll_path": d.dll_path.as_ref().map(|p| p.display().to_string()),
                    "dll_exists": d.dll_exists,
                    "dll_version": version(d),
                    "description": d.description,
                    "problem": d.problem,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if drivers.is_empty() {
        println!(
            "no ASIO drivers are registered (HKLM\\{} is empty or missing); \
             to register Tenuto, run `tenuto register` as administrator",
            tenuto_host::windows::ASIO_KEY
        );
        return ExitCode::SUCCESS;
    }
    let width = drivers
        .iter()
        .map(|d| d.name.chars().count())
        .max()
        .unwrap_or(0);
    for d in &drivers {
        let clsid = d
            .clsid
            .map_or_else(|| "(no valid CLSID)".to_owned(), |g| g.to_string());
        let dll = match &d.dll_path {
            Some(p) if d.dll_exists => match version(d) {
                Some(v) => format!("{} (exists, version {v})", p.display()),
                None => format!("{} (exists)", p.display()),
            },
            Some(p) => format!("{} (MISSING)", p.display()),
            None => "(no DLL registered)".to_owned(),
        };
        let description = d
            .description
            .as_deref()
            .map_or_else(|| "(no description)".to_owned(), |s| format!("\"{s}\""));
        let problem = d
            .problem
            .as_deref()
            .map_or_else(String::new, |p| format!("  — problem: {p}"));
        println!(
            "{:<width$}  {clsid:<38}  {dll}  {description}{problem}",
            d.name
        );
    }
    ExitCode::SUCCESS
}
