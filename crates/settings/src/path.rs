//! Where the settings file lives.

use std::path::PathBuf;

/// The settings file's name.
pub const FILE_NAME: &str = "tenuto.toml";

/// The environment variable that overrides [`default_path`].
pub const CONFIG_ENV: &str = "TENUTO_CONFIG";

/// The per-user settings file: `TENUTO_CONFIG` when set and non-empty; on Windows
/// `%APPDATA%\Tenuto\tenuto.toml`; elsewhere `$XDG_CONFIG_HOME/tenuto/tenuto.toml`
/// (when absolute) or `$HOME/.config/tenuto/tenuto.toml`. `None` when none of these
/// variables is usable.
pub fn default_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = var(CONFIG_ENV) {
        return Some(PathBuf::from(path));
    }
    if cfg!(windows) {
        let app_data = var("APPDATA").map(PathBuf::from).or_else(|| {
            var("USERPROFILE").map(|home| PathBuf::from(home).join("AppData").join("Roaming"))
        })?;
        Some(app_data.join("Tenuto").join(FILE_NAME))
    } else {
        let config = var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".config")))?;
        Some(config.join("tenuto").join(FILE_NAME))
    }
}
