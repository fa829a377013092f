//! The browser's changes to the cluster, from the keyboard: which change a key means on the
//! selected row, the question asked before the ones that need a yes (or a number), and the
//! log of what was sent and answered — shown under the browser, so a room watching the
//! screen sees what happened.

use crossterm::event::{KeyCode, KeyEvent};

use super::browser::Browser;
use super::keymap::Cmd;
use crate::cluster::actions::{Change, DeleteOptions, Done, TaintEdit};
use crate::cluster::object::ObjectRef;

/// A question on the bottom line, before a change is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    /// y sends it; any other key does not.
    Confirm(Change),
    /// How many replicas: digits, then Enter.
    Replicas { object: ObjectRef, input: String },
}

impl Ask {
    /// The question as the bottom line shows it.
    pub fn question(&self) -> String {
        match self {
            Ask::Confirm(change) => {
                format!("{}? y sends it, any other key cancels", change.summary())
            }
            Ask::Replicas { object, input } => {
                format!(
                    "scale {} to: {input}▏ (enter sends, esc cancels)",
                    object.label()
                )
            }
        }
    }
}

/// One change sent: when, what, and the server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `HH:MM:SS` in the machine's time zone.
    pub at: String,
    pub summary: String,
    pub result: Result<Done, String>,
}

/// Entries the log keeps (the newest few are on screen).
const KEPT: usize = 100;

#[derive(Debug, Default)]
pub struct Changes {
    pub asking: Option<Ask>,
    pub log: Vec<Entry>,
}

/// What a key does on the selected row.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Send(Change),
    Ask(Ask),
    /// Ask the cluster what an undo of this Deployment (to the previous revision, or the
    /// one given) would change, then ask the user.
    PlanUndo(ObjectRef, Option<i64>),
}

/// The workloads with a rollout history (`apps` group plurals).
pub const ROLLED_OUT: &[&str] = &["deployments", "daemonsets", "statefulsets"];

/// Whether `cmd` changes the cluster (refused in read-only mode).
pub fn mutates(cmd: Cmd) -> bool {
    matches!(
        cmd,
        Cmd::ToggleTaint
            | Cmd::Cordon
            | Cmd::Scale
            | Cmd::RestartWorkload
            | Cmd::Undo
            | Cmd::Delete
    )
}

/// The change `cmd` means on the browser's selected row, or why it means none there.
pub fn plan(browser: &mut Browser, cmd: Cmd) -> Result<Next, String> {
    let (object, cells) = browser
        .selected_object()
        .ok_or_else(|| "no row selected".to_string())?;
    let r = &object.resource;
    let node = r.is("", &["nodes"]);
    let workload = |kinds: &[&str]| r.is("apps", kinds);
    match cmd {
        Cmd::ToggleTaint if node => Ok(Next::Send(Change::ToggleTaint(object))),
        Cmd::Cordon if node => {
            let cordoned = cells.iter().any(|c| c.contains("SchedulingDisabled"));
            Ok(Next::Send(Change::Cordon(object, !cordoned)))
        }
        Cmd::ToggleTaint | Cmd::Cordon => Err("select a node (:nodes) first".into()),
        Cmd::Scale if workload(&["deployments", "replicasets", "statefulsets"]) => {
            Ok(Next::Ask(Ask::Replicas {
                object,
                input: String::new(),
            }))
        }
        Cmd::Scale => Err("scale: select a Deployment, ReplicaSet or StatefulSet".into()),
        Cmd::RestartWorkload if workload(&["deployments", "daemonsets", "statefulsets"]) => {
            Ok(Next::Ask(Ask::Confirm(Change::Restart(object))))
        }
        Cmd::RestartWorkload => {
            Err("restart: select a Deployment, DaemonSet or StatefulSet".into())
        }
        Cmd::Undo if workload(ROLLED_OUT) => Ok(Next::PlanUndo(object, None)),
        Cmd::Undo => Err("undo: select a Deployment, DaemonSet or StatefulSet".into()),
        Cmd::Delete => Ok(Next::Ask(Ask::Confirm(Change::Delete(
            object,
            DeleteOptions::default(),
        )))),
        _ => Err(format!("{cmd:?} changes nothing")),
    }
}

/// The `:` commands that change the selected row, in kubectl's words: `taint KEY=V:EFFECT`
/// (`KEY-` removes), `image CONTAINER=IMAGE`, `scale N`, `undo [REVISION]`, `pause`, `resume`, `drain`. None
/// when `text` is not one of them.
pub fn from_command(browser: &mut Browser, text: &str) -> Option<Result<Next, String>> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (first, rest) = words.split_first()?;
    if !matches!(
        *first,
        "taint"
            | "image"
            | "set-image"
            | "scale"
            | "undo"
            | "drain"
            | "pause"
            | "resume"
            | "delete"
    ) {
        return None;
    }
    let Some((object, _)) = browser.selected_object() else {
        return Some(Err("no row selected".into()));
    };
    let r = &object.resource;
    let node = r.is("", &["nodes"]);
    let workload = |kinds: &[&str]| r.is("apps", kinds);
    Some(match (*first, rest) {
        ("taint", [edit]) if node => {
            TaintEdit::parse(edit).map(|e| Next::Send(Change::Taint(object, e)))
        }
        ("taint", _) if node => Err("taint KEY=VALUE:EFFECT, KEY:EFFECT- or KEY-".into()),
        ("drain", []) if node => Ok(Next::Ask(Ask::Confirm(Change::Drain(object)))),
        ("taint" | "drain", _) => Err(format!("{first}: select a node (:nodes) first")),
        ("image" | "set-image", [pair])
            if workload(&["deployments", "daemonsets", "statefulsets", "replicasets"]) =>
        {
            match pair.split_once('=') {
                Some((c, i)) if !c.is_empty() && !i.is_empty() => {
                    Ok(Next::Send(Change::SetImage {
                        object,
                        container: c.into(),
                        image: i.into(),
                    }))
                }
                _ => Err("image CONTAINER=IMAGE".into()),
            }
        }
        ("image" | "set-image", _) => Err("image CONTAINER=IMAGE, on a workload".into()),
        ("scale", [n]) if workload(&["deployments", "replicasets", "statefulsets"]) => n
            .parse()
            .map(|n| Next::Send(Change::Scale(object, n)))
            .map_err(|_| format!("scale: {n:?} is not a number of replicas")),
        ("scale", _) => Err("scale N, on a Deployment, ReplicaSet or StatefulSet".into()),
        ("delete", flags) => DeleteOptions::parse(flags)
            .map(|options| Next::Ask(Ask::Confirm(Change::Delete(object, options)))),
        ("pause" | "resume", []) if workload(&["deployments"]) => {
            Ok(Next::Send(Change::Pause(object, *first == "pause")))
        }
        ("undo", []) if workload(ROLLED_OUT) => Ok(Next::PlanUndo(object, None)),
        ("undo", [n]) if workload(ROLLED_OUT) => n
            .parse()
            .map(|n| Next::PlanUndo(object, Some(n)))
            .map_err(|_| format!("undo: {n:?} is not a revision number")),
        ("pause" | "resume", _) => Err(format!("{first}: select a Deployment (:deploy) first")),
        _ => Err(format!(
            "{first}: select a Deployment, DaemonSet or StatefulSet first"
        )),
    })
}

impl Changes {
    /// A key while a question is asked: the change to send, if the answer says so. Any key
    /// ends a confirmation; a number prompt takes digits until Enter or Esc.
    pub fn answer(&mut self, key: KeyEvent) -> Option<Change> {
        let ask = self.asking.take()?;
        match ask {
            Ask::Confirm(change) => (key.code == KeyCode::Char('y')).then_some(change),
            Ask::Replicas { object, mut input } => match key.code {
                KeyCode::Enter => input.parse().ok().map(|n| Change::Scale(object, n)),
                KeyCode::Esc => None,
                KeyCode::Backspace => {
                    input.pop();
                    self.asking = Some(Ask::Replicas { object, input });
                    None
                }
                KeyCode::Char(c) if c.is_ascii_digit() && input.len() < 6 => {
                    input.push(c);
                    self.asking = Some(Ask::Replicas { object, input });
                    None
                }
                _ => {
                    self.asking = Some(Ask::Replicas { object, input });
                    None
                }
            },
        }
    }

    /// The server answered a change.
    pub fn record(&mut self, summary: String, result: Result<Done, String>) {
        let now = k8s_openapi::jiff::Zoned::now();
        self.log.push(Entry {
            at: now.strftime("%H:%M:%S").to_string(),
            summary,
            result,
        });
        if self.log.len() > KEPT {
            self.log.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::table::{Row, Update};
    use crossterm::event::KeyModifiers;

    fn browser(command: &str, cells: &[&str]) -> Browser {
        let mut b = Browser::default();
        b.catalog(crate::cluster::resources::test_catalog());
        b.command(command);
        let generation = b.generation;
        b.update(
            generation,
            Update::Reset {
                columns: vec![],
                rows: vec![Row {
                    namespace: if command.starts_with("no") {
                        String::new()
                    } else {
                        "default".into()
                    },
                    name: "x".into(),
                    cells: cells.iter().map(|c| c.to_string()).collect(),
                }],
            },
        );
        b
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn keys_mean_changes_on_the_kinds_they_apply_to() {
        let mut nodes = browser("nodes", &["x", "Ready,SchedulingDisabled"]);
        assert!(matches!(
            plan(&mut nodes, Cmd::ToggleTaint),
            Ok(Next::Send(Change::ToggleTaint(_)))
        ));
        assert!(
            matches!(
                plan(&mut nodes, Cmd::Cordon),
                Ok(Next::Send(Change::Cordon(_, false)))
            ),
            "a cordoned node is uncordoned"
        );
        assert!(plan(&mut nodes, Cmd::Scale).is_err());
        let mut pods = browser("po", &["x", "Running"]);
        assert_eq!(
            plan(&mut pods, Cmd::ToggleTaint),
            Err("select a node (:nodes) first".into())
        );
        assert!(matches!(
            plan(&mut pods, Cmd::Delete),
            Ok(Next::Ask(Ask::Confirm(Change::Delete(..))))
        ));
        let mut deploy = browser("deploy", &["x"]);
        assert!(matches!(
            plan(&mut deploy, Cmd::Scale),
            Ok(Next::Ask(Ask::Replicas { .. }))
        ));
        assert!(matches!(
            plan(&mut deploy, Cmd::Undo),
            Ok(Next::PlanUndo(_, None))
        ));
        assert!(matches!(
            from_command(&mut deploy, "undo 3"),
            Some(Ok(Next::PlanUndo(_, Some(3))))
        ));
        assert!(matches!(
            from_command(&mut deploy, "image nginx=nginx:1.27"),
            Some(Ok(Next::Send(Change::SetImage { .. })))
        ));
        assert!(matches!(
            from_command(&mut deploy, "scale 4"),
            Some(Ok(Next::Send(Change::Scale(_, 4))))
        ));
        assert!(
            from_command(&mut deploy, "taint a:NoSchedule")
                .unwrap()
                .is_err()
        );
        assert!(from_command(&mut deploy, "po").is_none(), "not a change");
        assert!(matches!(
            from_command(&mut nodes, "taint gpu=yes:NoSchedule"),
            Some(Ok(Next::Send(Change::Taint(..))))
        ));
        assert!(matches!(
            from_command(&mut nodes, "drain"),
            Some(Ok(Next::Ask(Ask::Confirm(Change::Drain(_)))))
        ));
        assert!(plan(&mut pods, Cmd::Undo).is_err());
        assert!(matches!(
            plan(&mut deploy, Cmd::RestartWorkload),
            Ok(Next::Ask(Ask::Confirm(Change::Restart(_))))
        ));
    }

    #[test]
    fn a_confirmation_takes_y_only_and_a_number_prompt_takes_digits() {
        let mut deploy = browser("deploy", &["x"]);
        let Ok(Next::Ask(ask)) = plan(&mut deploy, Cmd::Delete) else {
            panic!()
        };
        let mut c = Changes {
            asking: Some(ask.clone()),
            ..Changes::default()
        };
        assert_eq!(c.answer(key(KeyCode::Char('n'))), None);
        assert_eq!(c.asking, None, "any other key cancels");
        c.asking = Some(ask);
        assert!(matches!(
            c.answer(key(KeyCode::Char('y'))),
            Some(Change::Delete(..))
        ));

        let Ok(Next::Ask(ask)) = plan(&mut deploy, Cmd::Scale) else {
            panic!()
        };
        c.asking = Some(ask);
        for k in [
            KeyCode::Char('1'),
            KeyCode::Char('x'),
            KeyCode::Char('2'),
            KeyCode::Backspace,
            KeyCode::Char('5'),
        ] {
            assert_eq!(c.answer(key(k)), None);
        }
        assert!(c.asking.as_ref().unwrap().question().contains("to: 15▏"));
        assert!(matches!(
            c.answer(key(KeyCode::Enter)),
            Some(Change::Scale(_, 15))
        ));
        assert_eq!(c.asking, None);
    }
}
