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

pub const DARK: &str = include_str!("../../themes/dark.yaml");

impl Theme {
    pub fn dark() -> Theme {
        Theme::parse(DARK, Path::new("themes/dark.yaml"))
            .expect("the bundled dark theme is valid (a unit test checks it)")
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
