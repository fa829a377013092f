//! Themes map roles (`state.ready`, `pane.title.focused`) to styles. Views ask for roles, never
//! colours; a dotted role falls back to the broader one, so a short theme is still complete.

use std::collections::HashMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
#[error("theme {path}: {message}")]
pub struct ThemeError {
    path: String,
    message: String,
}

#[derive(Clone, Debug, Default)]
pub struct Theme {
    /// A bundled theme's name, or the file it came from.
    pub name: String,
    roles: HashMap<String, Style>,
    /// NO_COLOR: keep modifiers (bold, reversed) so focus and state still show, drop colours.
    monochrome: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

/// The themes built in, by name (`--theme NAME`); the first is the default.
pub const BUNDLED: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.yaml")),
    ("light", include_str!("../../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.yaml"),
    ),
    (
        "colour-blind",
        include_str!("../../themes/colour-blind.yaml"),
    ),
    ("monochrome", include_str!("../../themes/monochrome.yaml")),
];

/// Every role the views ask for: each bundled theme names all of them (a unit test checks
/// it, and that the views ask for no other).
pub const ROLES: &[&str] = &[
    "text",
    "text.dim",
    "text.strong",
    "header",
    "header.title",
    "footer",
    "footer.key",
    "footer.message",
    "footer.error",
    "pane.title",
    "pane.title.focused",
    "pane.detail",
    "pane.border",
    "pane.border.focused",
    "log.stdout",
    "log.stderr",
    "log.supervisor",
    "log.match",
    "state.ready",
    "state.pending",
    "state.stopped",
    "state.stopping",
    "state.failed",
    "help",
    "help.title",
    "help.key",
    "search",
    "table.header",
    "table.selected",
    "yaml.key",
    "yaml.comment",
    "yaml.punct",
    "diff.header",
    "diff.added",
    "diff.removed",
    "diff.folded",
    "editor.line-number",
    "editor.mark",
    "overlay",
    "overlay.key",
    "overlay.action",
];

impl Theme {
    pub fn dark() -> Theme {
        Theme::bundled("dark").expect("the bundled dark theme is valid (a unit test checks it)")
    }

    fn bundled(name: &str) -> Option<Theme> {
        let (name, text) = BUNDLED.iter().find(|(n, _)| *n == name)?;
        let mut theme = Theme::parse(text, Path::new(&format!("themes/{name}.yaml"))).ok()?;
        theme.name = name.to_string();
        Some(theme)
    }

    /// `--theme`: a bundled theme's name, or a theme file. A file that cannot be read or
    /// parsed gives the default theme and the error (naming file, line and role) to show.
    pub fn load(spec: Option<&str>) -> (Theme, Option<String>) {
        let Some(spec) = spec else {
            return (Theme::dark(), None);
        };
        if let Some(theme) = Theme::bundled(spec) {
            return (theme, None);
        }
        let path = Path::new(spec);
        let loaded = std::fs::read_to_string(path)
            .map_err(|e| ThemeError {
                path: spec.to_string(),
                message: format!(
                    "{e} (bundled themes: {})",
                    BUNDLED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
            .and_then(|text| Theme::parse(&text, path));
        match loaded {
            Ok(mut theme) => {
                theme.name = spec.to_string();
                (theme, None)
            }
            Err(e) => (Theme::dark(), Some(format!("{e}; using the dark theme"))),
        }
    }

    /// The bundled theme after this one (a file's theme: the first), for cycling live.
    pub fn next(&self) -> Theme {
        let at = BUNDLED.iter().position(|(n, _)| *n == self.name);
        let (name, _) = BUNDLED[at.map_or(0, |i| (i + 1) % BUNDLED.len())];
        Theme::bundled(name)
            .expect("bundled themes are valid (a unit test checks it)")
            .with_no_color(self.monochrome)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Theme, ThemeError> {
        let err = |message: String| ThemeError {
            path: path.display().to_string(),
            message,
        };
        let raw: HashMap<String, RoleSpec> =
            serde_saphyr::from_str(text).map_err(|e| err(e.to_string()))?;
        let line_of = |role: &str| {
            text.lines()
                .position(|l| l.starts_with(&format!("{role}:")))
                .map_or(0, |i| i + 1)
        };
        let mut roles = HashMap::new();
        for (role, spec) in raw {
            let at = |what: String| err(format!("line {}: role {role}: {what}", line_of(&role)));
            let mut style = Style::default();
            if let Some(fg) = &spec.fg {
                style = style.fg(parse_color(fg).map_err(at)?);
            }
            if let Some(bg) = &spec.bg {
                style = style.bg(parse_color(bg).map_err(at)?);
            }
            for m in &spec.modifiers {
                style = style.add_modifier(parse_modifier(m).map_err(at)?);
            }
            roles.insert(role, style);
        }
        Ok(Theme {
            name: path.display().to_string(),
            roles,
            monochrome: false,
        })
    }

    /// Honours the NO_COLOR convention (https://no-color.org): any non-empty value.
    pub fn with_no_color(mut self, no_color: bool) -> Theme {
        self.monochrome = no_color;
        self
    }

    /// The style of `role`, falling back to broader roles (`a.b.c` → `a.b` → `a`), then none.
    pub fn get(&self, role: &str) -> Style {
        let mut r = role;
        let style = loop {
            if let Some(s) = self.roles.get(r) {
                break *s;
            }
            match r.rfind('.') {
                Some(i) => r = &r[..i],
                None => break Style::default(),
            }
        };
        if self.monochrome {
            Style {
                fg: None,
                bg: None,
                ..style
            }
        } else {
            style
        }
    }
}

fn parse_color(s: &str) -> Result<Color, String> {
    if let Some(hex) = s.strip_prefix('#') {
        if let Some(v) = (hex.len() == 6)
            .then(|| u32::from_str_radix(hex, 16).ok())
            .flatten()
        {
            return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
        }
        return Err(format!("{s:?} is not a colour: use #rrggbb"));
    }
    Ok(match s {
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "darkgray" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" => Color::White,
        "reset" => Color::Reset,
        _ => return Err(format!("unknown colour {s:?}")),
    })
}

fn parse_modifier(s: &str) -> Result<Modifier, String> {
    Ok(match s {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        _ => {
            return Err(format!(
                "unknown modifier {s:?}: use bold, dim, italic, underlined, reversed"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_theme_file_loads() {
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/themes")).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            Theme::parse(&text, &path).unwrap();
        }
        assert_ne!(Theme::dark().get("state.ready"), Style::default());
    }

    #[test]
    fn every_bundled_theme_names_every_role_and_views_ask_for_no_other() {
        for (name, text) in BUNDLED {
            let raw: HashMap<String, RoleSpec> = serde_saphyr::from_str(text).unwrap();
            for role in ROLES {
                assert!(raw.contains_key(*role), "theme {name} lacks {role}");
            }
            for role in raw.keys() {
                assert!(
                    ROLES.contains(&role.as_str()),
                    "theme {name}: {role} is not a role"
                );
            }
        }
        // Roles the views name literally, as `get("role")`.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tui");
        let asked = regex::Regex::new(r#"get\("([a-z.\-]+)"\)"#).unwrap();
        let named = regex::Regex::new(r#""((?:text|header|footer|pane|log|state|help|search|table|yaml|diff|editor|overlay)(?:\.[a-z\-]+)+)""#).unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let code = std::fs::read_to_string(&path).unwrap();
            let code = code.split("#[cfg(test)]").next().unwrap();
            for role in asked.captures_iter(code).chain(named.captures_iter(code)) {
                assert!(
                    ROLES.contains(&&role[1]),
                    "{}: role {} is not in ROLES",
                    path.display(),
                    &role[1]
                );
            }
        }
    }

    #[test]
    fn a_theme_is_chosen_by_name_or_file_and_a_broken_one_falls_back() {
        assert_eq!(Theme::load(Some("light")).0.name, "light");
        assert_eq!(Theme::load(None).0.name, "dark");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("mine.yaml");
        std::fs::write(&bad, "text: {fg: gray}\nfooter.key: {fg: purpel}\n").unwrap();
        let (theme, error) = Theme::load(bad.to_str());
        assert_eq!(theme.name, "dark");
        let error = error.unwrap();
        assert!(
            error.contains("mine.yaml") && error.contains("line 2") && error.contains("footer.key"),
            "{error}"
        );
        let (_, missing) = Theme::load(Some("/nonexistent/t.yaml"));
        assert!(missing.unwrap().contains("bundled themes: dark, light"));
        let mut names = vec![];
        let mut t = Theme::dark();
        for _ in 0..BUNDLED.len() {
            t = t.next();
            names.push(t.name.clone());
        }
        assert_eq!(names.last().unwrap(), "dark", "{names:?}");
    }

    #[test]
    fn roles_fall_back_to_broader_ones() {
        let t = Theme::parse(
            "pane: {fg: red}\npane.title: {fg: blue}\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        assert_eq!(t.get("pane.title.focused").fg, Some(Color::Blue));
        assert_eq!(t.get("pane.detail").fg, Some(Color::Red));
        assert_eq!(t.get("nothing"), Style::default());
    }

    #[test]
    fn no_color_keeps_modifiers_only() {
        let t = Theme::dark().with_no_color(true);
        let s = t.get("pane.title.focused");
        assert_eq!((s.fg, s.bg), (None, None));
        assert!(s.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn a_broken_theme_names_file_line_and_role() {
        let e = Theme::parse(
            "text: {fg: gray}\nstate.ready: {fg: grene}\n",
            Path::new("bad.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("bad.yaml")
                && e.contains("line 2")
                && e.contains("state.ready")
                && e.contains("grene"),
            "{e}"
        );
    }
}
