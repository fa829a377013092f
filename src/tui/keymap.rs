//! Commands are named and described once ([`COMMANDS`]); a keymap file binds keys to those
//! names. Help and the bottom bar are generated from the active keymap, so they never lie.

use std::collections::BTreeMap;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::component::Component;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cmd {
    FocusNext,
    FocusPrev,
    Focus(Component),
    Zoom,
    Start,
    Stop,
    Restart,
    StartAll,
    StopAll,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    ScrollTop,
    Follow,
    Search,
    SearchNext,
    SearchPrev,
    Back,
    Help,
    Quit,
    Command,
    FocusBrowser,
    Yaml,
    Describe,
    Logs,
    Events,
    History,
    LogContainer,
    LogPrevious,
    LogTimestamps,
    Wrap,
    Pause,
    SortNext,
    SortReverse,
    ToggleTaint,
    Cordon,
    Scale,
    RestartWorkload,
    Undo,
    Delete,
    Edit,
    New,
    Copy,
    NextTheme,
}

/// Every command: its name in keymap files, and what it does (shown in help).
pub const COMMANDS: &[(Cmd, &str, &str)] = &[
    (Cmd::FocusNext, "focus-next", "focus the next pane"),
    (Cmd::FocusPrev, "focus-prev", "focus the previous pane"),
    (
        Cmd::Focus(Component::Etcd),
        "focus-etcd",
        "focus the etcd pane",
    ),
    (
        Cmd::Focus(Component::Apiserver),
        "focus-apiserver",
        "focus the apiserver pane",
    ),
    (
        Cmd::Focus(Component::ControllerManager),
        "focus-controller-manager",
        "focus the controller-manager pane",
    ),
    (
        Cmd::Focus(Component::Scheduler),
        "focus-scheduler",
        "focus the scheduler pane",
    ),
    (
        Cmd::Focus(Component::Kubelet),
        "focus-kubelet",
        "focus the kubelet pane",
    ),
    (
        Cmd::Focus(Component::Proxy),
        "focus-proxy",
        "focus the proxy pane",
    ),
    (
        Cmd::Zoom,
        "zoom",
        "zoom the focused pane to full screen, and back",
    ),
    (Cmd::Start, "start", "start the focused component"),
    (
        Cmd::Stop,
        "stop",
        "stop the focused component (SIGTERM, then SIGKILL)",
    ),
    (Cmd::Restart, "restart", "restart the focused component"),
    (
        Cmd::StartAll,
        "start-all",
        "start all components in dependency order",
    ),
    (
        Cmd::StopAll,
        "stop-all",
        "stop all components, kubelet and proxy first",
    ),
    (Cmd::ScrollUp, "scroll-up", "scroll the log back one line"),
    (
        Cmd::ScrollDown,
        "scroll-down",
        "scroll the log forward one line",
    ),
    (Cmd::PageUp, "page-up", "scroll the log back one page"),
    (
        Cmd::PageDown,
        "page-down",
        "scroll the log forward one page",
    ),
    (
        Cmd::ScrollTop,
        "scroll-top",
        "go to the oldest log line kept",
    ),
    (
        Cmd::Follow,
        "follow",
        "go to the newest log line and follow",
    ),
    (
        Cmd::Search,
        "search",
        "search the focused log (case-insensitive)",
    ),
    (
        Cmd::SearchNext,
        "search-next",
        "next match (in logs: older)",
    ),
    (
        Cmd::SearchPrev,
        "search-prev",
        "previous match (in logs: newer)",
    ),
    (Cmd::Back, "back", "close help, clear the search, unzoom"),
    (Cmd::Help, "help", "show every key binding"),
    (
        Cmd::Command,
        "command",
        "browse: :po, :deploy NS, :nodes, :ns NAME|all",
    ),
    (
        Cmd::FocusBrowser,
        "focus-browser",
        "focus the resource browser",
    ),
    (Cmd::Yaml, "yaml", "browser: the selected object's YAML"),
    (
        Cmd::Describe,
        "describe",
        "browser: describe it, with its events",
    ),
    (
        Cmd::Logs,
        "logs",
        "browser: logs of the selected pod, workload or Service",
    ),
    (
        Cmd::Events,
        "events",
        "browser: the selected object's events",
    ),
    (
        Cmd::History,
        "rollout-history",
        "deployment: its revisions, images and change-causes",
    ),
    (
        Cmd::LogContainer,
        "log-container",
        "logs: all containers, then each in turn",
    ),
    (
        Cmd::LogPrevious,
        "log-previous",
        "logs: the previous (crashed) instance's, or the current",
    ),
    (
        Cmd::LogTimestamps,
        "log-timestamps",
        "logs: with the server's timestamps, or without",
    ),
    (
        Cmd::Wrap,
        "wrap",
        "logs and details: wrap long lines, or cut them",
    ),
    (
        Cmd::Pause,
        "pause",
        "logs: pause (lines keep arriving), or follow again",
    ),
    (Cmd::SortNext, "sort", "browser: sort by the next column"),
    (
        Cmd::SortReverse,
        "sort-reverse",
        "browser: reverse the sort order",
    ),
    (
        Cmd::ToggleTaint,
        "taint-toggle",
        "node: toggle the control-plane NoSchedule taint",
    ),
    (Cmd::Cordon, "cordon", "node: cordon, or uncordon"),
    (
        Cmd::Scale,
        "scale",
        "workload: scale to a number of replicas",
    ),
    (
        Cmd::RestartWorkload,
        "rollout-restart",
        "workload: restart (a new rollout), after a yes",
    ),
    (
        Cmd::Undo,
        "rollout-undo",
        "deployment: undo to the previous revision, after a yes",
    ),
    (
        Cmd::Delete,
        "delete",
        "delete the selected object, after a yes",
    ),
    (
        Cmd::Edit,
        "edit",
        "edit the selected object's YAML, then apply it",
    ),
    (
        Cmd::New,
        "new",
        "new objects from a template (:new NAME, :apply FILE)",
    ),
    (
        Cmd::Copy,
        "copy",
        "copy the selected name or the open view's text",
    ),
    (
        Cmd::NextTheme,
        "theme-next",
        "switch to the next bundled theme (dark, light, …)",
    ),
    (Cmd::Quit, "quit", "stop every component and quit"),
];

pub fn command_name(cmd: Cmd) -> &'static str {
    COMMANDS
        .iter()
        .find(|(c, _, _)| *c == cmd)
        .map(|(_, n, _)| *n)
        .expect("every Cmd is listed in COMMANDS")
}

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("keymap {path}: {message}")]
    Parse { path: String, message: String },
    #[error("keymap {path}: line {line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

/// A key as written in keymap files and shown in help: `s`, `S`, `ctrl-c`, `shift-tab`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    code: KeyCodeOrd,
    ctrl: bool,
    alt: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    Named(&'static str),
    F(u8),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("tab", KeyCode::Tab),
    ("shift-tab", KeyCode::BackTab),
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("backspace", KeyCode::Backspace),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("pgup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
];

impl Key {
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut rest = s;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-").filter(|r| !r.is_empty()) {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-").filter(|r| !r.is_empty()) {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = if let Some((name, _)) = NAMED.iter().find(|(n, _)| *n == rest) {
            KeyCodeOrd::Named(name)
        } else if rest == "space" {
            KeyCodeOrd::Char(' ')
        } else if let Some(n) = rest
            .strip_prefix('f')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=12).contains(n))
        {
            KeyCodeOrd::F(n)
        } else {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => KeyCodeOrd::Char(c),
                _ => {
                    return Err(format!(
                        "unknown key {s:?}: use a single character, or one of {}, space, f1..f12, with ctrl-/alt- prefixes",
                        NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }

    /// The key of a terminal event, if it is one a keymap can name.
    pub fn from_event(ev: &KeyEvent) -> Option<Key> {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        let code = match ev.code {
            // Shift is already in the character ('S', '?'), so it is not a separate modifier.
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().find(|(_, k)| *k == other)?.0),
        };
        Some(Key { code, ctrl, alt })
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::Named(n) => f.write_str(n),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Keymap {
    by_key: BTreeMap<Key, Cmd>,
    /// Keys of each command in file order, for help.
    keys: Vec<(Cmd, Vec<Key>)>,
}

pub const DEFAULT_KEYMAP: &str = include_str!("../../keymaps/default.yaml");

/// The keymaps built in, by name (`--keymap NAME`); the first is the default.
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", DEFAULT_KEYMAP),
    ("vim", include_str!("../../keymaps/vim.yaml")),
];

impl Keymap {
    pub fn default_keymap() -> Keymap {
        Keymap::parse(DEFAULT_KEYMAP, Path::new("keymaps/default.yaml"))
            .expect("the bundled default keymap is valid (a unit test checks it)")
    }

    /// `--keymap`: a bundled keymap's name, or a file whose bindings replace the default
    /// ones of the commands it names (the others keep theirs). A file that cannot be read,
    /// or binds one key twice, gives the default keymap and the error (file, line) to show.
    pub fn load(spec: Option<&str>) -> (Keymap, Option<String>) {
        let Some(spec) = spec else {
            return (Keymap::default_keymap(), None);
        };
        if let Some((name, text)) = BUNDLED.iter().find(|(n, _)| *n == spec) {
            let path = format!("keymaps/{name}.yaml");
            return match Keymap::parse(text, Path::new(&path)) {
                Ok(k) => (k, None),
                Err(e) => (Keymap::default_keymap(), Some(e.to_string())),
            };
        }
        let loaded = std::fs::read_to_string(spec)
            .map_err(|e| KeymapError::Parse {
                path: spec.to_string(),
                message: format!(
                    "{e} (bundled keymaps: {})",
                    BUNDLED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
            .and_then(|text| Keymap::parse_over_default(&text, Path::new(spec)));
        match loaded {
            Ok(k) => (k, None),
            Err(e) => (
                Keymap::default_keymap(),
                Some(format!("{e}; using the default keymap")),
            ),
        }
    }

    /// A user's keymap file over the default one: each command it names gets its keys.
    pub fn parse_over_default(text: &str, path: &Path) -> Result<Keymap, KeymapError> {
        let mine = Keymap::parse_unchecked(text, path)?;
        let mut merged: Vec<(Cmd, Vec<Key>, Option<usize>)> = Keymap::default_keymap()
            .keys
            .into_iter()
            .map(|(cmd, keys)| (cmd, keys, None))
            .collect();
        for (cmd, keys, line) in mine {
            match merged.iter_mut().find(|(c, _, _)| *c == cmd) {
                Some(entry) => *entry = (cmd, keys, Some(line)),
                None => merged.push((cmd, keys, Some(line))),
            }
        }
        let path_s = path.display().to_string();
        let mut by_key = BTreeMap::new();
        for (cmd, keys, line) in &merged {
            for key in keys {
                if let Some(other) = by_key.insert(*key, *cmd) {
                    let (a, b) = (command_name(other), command_name(*cmd));
                    return Err(KeymapError::Invalid {
                        path: path_s,
                        line: line
                            .or_else(|| {
                                // The default's binding clashes with one of the file's.
                                merged
                                    .iter()
                                    .find(|(c, _, _)| *c == other)
                                    .and_then(|(_, _, l)| *l)
                            })
                            .unwrap_or(0),
                        message: format!(
                            "key {key} is bound to both {a} and {b}: bind the other one to another key in this file"
                        ),
                    });
                }
            }
        }
        Ok(Keymap {
            by_key,
            keys: merged.into_iter().map(|(c, k, _)| (c, k)).collect(),
        })
    }

    /// Parses a keymap file: `command-name: [key, …]`. Unknown commands, bad keys and a key bound
    /// to two commands are errors naming the line.
    pub fn parse(text: &str, path: &Path) -> Result<Keymap, KeymapError> {
        let entries = Keymap::parse_unchecked(text, path)?;
        let mut by_key = BTreeMap::new();
        let mut keys = Vec::new();
        for (cmd, list, line) in entries {
            for key in &list {
                if let Some(other) = by_key.insert(*key, cmd) {
                    return Err(KeymapError::Invalid {
                        path: path.display().to_string(),
                        line,
                        message: format!(
                            "key {key} is bound to both {} and {}",
                            command_name(other),
                            command_name(cmd)
                        ),
                    });
                }
            }
            keys.push((cmd, list));
        }
        Ok(Keymap { by_key, keys })
    }

    /// The file's commands with their keys and lines, in file order; conflicts unchecked.
    fn parse_unchecked(
        text: &str,
        path: &Path,
    ) -> Result<Vec<(Cmd, Vec<Key>, usize)>, KeymapError> {
        let path_s = path.display().to_string();
        let raw: Vec<(String, Vec<String>)> =
            serde_saphyr::from_str::<indexmap_free::OrderedMap>(text)
                .map_err(|e| KeymapError::Parse {
                    path: path_s.clone(),
                    message: e.to_string(),
                })?
                .0;
        let line_of = |name: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(&format!("{name}:")))
                .map_or(0, |i| i + 1)
        };
        let mut entries = Vec::new();
        for (name, key_texts) in raw {
            let line = line_of(&name);
            let invalid = |message: String| KeymapError::Invalid {
                path: path_s.clone(),
                line,
                message,
            };
            let Some((cmd, _, _)) = COMMANDS.iter().find(|(_, n, _)| *n == name) else {
                return Err(invalid(format!("unknown command {name:?}")));
            };
            let list = key_texts
                .iter()
                .map(|k| Key::parse(k).map_err(&invalid))
                .collect::<Result<Vec<_>, _>>()?;
            entries.push((*cmd, list, line));
        }
        Ok(entries)
    }

    pub fn command(&self, ev: &KeyEvent) -> Option<Cmd> {
        self.by_key.get(&Key::from_event(ev)?).copied()
    }

    /// The keys bound to `cmd`, as shown in help ("z, enter"), or None when unbound.
    pub fn keys_of(&self, cmd: Cmd) -> Option<String> {
        self.keys
            .iter()
            .find(|(c, _)| *c == cmd)
            .filter(|(_, k)| !k.is_empty())
            .map(|(_, k)| {
                k.iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
    }

    /// The first key of `cmd`, for the bottom bar.
    pub fn first_key(&self, cmd: Cmd) -> Option<String> {
        self.keys
            .iter()
            .find(|(c, _)| *c == cmd)
            .and_then(|(_, k)| k.first())
            .map(|k| k.to_string())
    }
}

/// serde-saphyr deserialises maps into any serde map; this keeps file order without pulling in
/// indexmap just for help's ordering.
mod indexmap_free {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

    pub struct OrderedMap(pub Vec<(String, Vec<String>)>);

    impl<'de> Deserialize<'de> for OrderedMap {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OrderedMap;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map of command names to lists of keys")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OrderedMap, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = m.next_entry::<String, Vec<String>>()? {
                        out.push((k, v));
                    }
                    Ok(OrderedMap(out))
                }
            }
            d.deserialize_map(V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn the_default_keymap_loads_and_binds_every_command() {
        let km = Keymap::default_keymap();
        for (cmd, name, _) in COMMANDS {
            assert!(
                km.keys_of(*cmd).is_some(),
                "{name} has no key in the default keymap"
            );
        }
        assert_eq!(
            km.command(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Cmd::Quit)
        );
        assert_eq!(
            km.command(&key(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Some(Cmd::StartAll)
        );
        assert_eq!(
            km.command(&key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Cmd::FocusPrev)
        );
        assert_eq!(
            km.command(&key(KeyCode::Char('?'), KeyModifiers::NONE)),
            Some(Cmd::Help)
        );
        assert_eq!(km.keys_of(Cmd::Zoom).unwrap(), "z, enter");
    }

    #[test]
    fn rebinding_changes_the_command_and_the_help() {
        let km = Keymap::parse("start: [ctrl-s, f5]\nquit: [Q]\n", Path::new("mine.yaml")).unwrap();
        assert_eq!(
            km.command(&key(KeyCode::F(5), KeyModifiers::NONE)),
            Some(Cmd::Start)
        );
        assert_eq!(
            km.command(&key(KeyCode::Char('s'), KeyModifiers::CONTROL)),
            Some(Cmd::Start)
        );
        assert_eq!(
            km.command(&key(KeyCode::Char('s'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(km.keys_of(Cmd::Start).unwrap(), "ctrl-s, f5");
        assert_eq!(km.keys_of(Cmd::Help), None);
    }

    #[test]
    fn every_bundled_keymap_binds_every_command() {
        for (name, _) in BUNDLED {
            let (km, error) = Keymap::load(Some(name));
            assert_eq!(error, None, "{name}");
            for (cmd, command, _) in COMMANDS {
                assert!(km.keys_of(*cmd).is_some(), "{command} has no key in {name}");
            }
        }
        let (vim, _) = Keymap::load(Some("vim"));
        assert_eq!(
            vim.command(&key(KeyCode::Char('d'), KeyModifiers::CONTROL)),
            Some(Cmd::PageDown)
        );
        assert_eq!(
            vim.command(&key(KeyCode::Char('y'), KeyModifiers::NONE)),
            Some(Cmd::Copy)
        );
    }

    #[test]
    fn a_users_file_rebinds_over_the_default_and_conflicts_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("mine.yaml");
        std::fs::write(&mine, "# mine\nquit: [Q]\nstop: [q]\n").unwrap();
        let (km, error) = Keymap::load(mine.to_str());
        assert_eq!(error, None);
        assert_eq!(
            km.command(&key(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Cmd::Stop)
        );
        assert_eq!(km.keys_of(Cmd::Quit).unwrap(), "Q");
        assert_eq!(
            km.keys_of(Cmd::Start).unwrap(),
            "s",
            "the rest as in the default"
        );
        std::fs::write(&mine, "# mine\nstop: [s]\n").unwrap();
        let (km, error) = Keymap::load(mine.to_str());
        let error = error.unwrap();
        assert!(
            error.contains("mine.yaml")
                && error.contains("line 2")
                && error.contains("key s is bound to both start and stop")
                && error.contains("using the default keymap"),
            "{error}"
        );
        assert_eq!(km.keys_of(Cmd::Stop).unwrap(), "x");
    }

    #[test]
    fn errors_name_the_file_line_and_problem() {
        let err = |t: &str| {
            Keymap::parse(t, Path::new("k.yaml"))
                .unwrap_err()
                .to_string()
        };
        let e = err("start: [s]\nstrat: [t]\n");
        assert!(
            e.contains("k.yaml") && e.contains("line 2") && e.contains("strat"),
            "{e}"
        );
        let e = err("start: [s]\nstop: [s]\n");
        assert!(
            e.contains("line 2") && e.contains("bound to both start and stop"),
            "{e}"
        );
        let e = err("start: [ctrl-]\n");
        assert!(e.contains("unknown key"), "{e}");
        let e = err("start: s\n");
        assert!(e.contains("k.yaml"), "{e}");
    }
}
