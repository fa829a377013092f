//! The user's defaults for the screen, in `$XDG_CONFIG_HOME/kwb/config.yaml` (else
//! `~/.config/kwb/config.yaml`): theme, keymap, presenter mode, mouse. The command line and
//! the environment (`--theme`, `KWB_THEME`, …) win over it. A file that cannot be read is
//! named in the bottom line and left out, never fatal.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// A bundled theme's name, or a theme file (relative to the config's folder).
    pub theme: Option<String>,
    /// A bundled keymap's name, or a keymap file (relative to the config's folder).
    pub keymap: Option<String>,
    pub present: Option<bool>,
    pub mouse: Option<bool>,
}

/// Where the file is looked for.
pub fn path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("kwb").join("config.yaml"))
}

impl Settings {
    /// The settings in `path`; none when there is no file; the error (naming the file) when
    /// it cannot be read.
    pub fn load(path: &Path) -> Result<Settings, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut s: Settings = serde_saphyr::from_str(&text).map_err(|e| {
            let first = e.to_string();
            format!(
                "{}: {} (keys: theme, keymap, present, mouse)",
                path.display(),
                first.lines().next().unwrap_or("")
            )
        })?;
        // Files named in it are found next to it.
        let dir = path.parent().unwrap_or(Path::new("."));
        for file in [&mut s.theme, &mut s.keymap].into_iter().flatten() {
            if file.contains('/') && Path::new(file.as_str()).is_relative() {
                *file = dir.join(&*file).display().to_string();
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_load_with_files_next_to_them_and_errors_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        assert_eq!(Settings::load(&path).unwrap(), Settings::default());
        std::fs::write(
            &path,
            "theme: light\nkeymap: ./mine/keys.yaml\nmouse: true\n",
        )
        .unwrap();
        let s = Settings::load(&path).unwrap();
        assert_eq!(s.theme.as_deref(), Some("light"));
        assert_eq!(
            s.keymap,
            Some(dir.path().join("./mine/keys.yaml").display().to_string())
        );
        assert_eq!((s.mouse, s.present), (Some(true), None));
        std::fs::write(&path, "colour: light\n").unwrap();
        let e = Settings::load(&path).unwrap_err();
        assert!(
            e.contains("config.yaml") && e.contains("keys: theme"),
            "{e}"
        );
    }
}
