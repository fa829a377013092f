//! The YAML editor: an object's YAML (or a template, a file, a paste) in a textarea with undo,
//! redo, find, copy and paste; ctrl-s checks the text (syntax errors marked at their line and
//! column, nothing sent), asks the server for a dry run and shows the diff against the live
//! objects; y sends. A 409 on an edit shows what changed behind the editor and offers to
//! reapply the change onto the new version, overwrite, or keep editing. The text is never
//! lost: a refused apply returns to it with the server's causes marked on their lines, and
//! leaving with changes asks first.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{CursorMove, TextArea};
use serde_json::Value;

use crate::cluster::apply::{self, Failure, Mark, Planned, Reviewed, Way};
use crate::cluster::diff;
use crate::cluster::object::ObjectRef;
use crate::cluster::resources::Catalog;

/// What the editor holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Opened {
    /// An object of the cluster, as it was when opened (what the editor showed).
    Edit { object: Box<ObjectRef>, at: Value },
    /// New objects (a template, a file, a paste), sent with server-side apply.
    New { title: String },
}

#[derive(Debug)]
pub enum Step {
    Editing,
    /// Esc with changes: y discards them.
    Leaving,
    /// The dry run is under way.
    Checking,
    /// The dry run's diff; y sends.
    Review {
        planned: Vec<Planned>,
        lines: Vec<String>,
        scroll: usize,
    },
    /// The object changed since it was opened.
    Conflict {
        live: Value,
        lines: Vec<String>,
        scroll: usize,
    },
    Sending,
}

#[derive(Debug)]
pub struct Editor {
    pub area: TextArea<'static>,
    pub opened: Opened,
    original: Vec<String>,
    pub step: Step,
    /// Syntax errors and the server's causes, on their lines.
    pub marks: Vec<Mark>,
    /// A line under the text: what happened last, and whether it is an error.
    pub note: Option<(String, bool)>,
    /// Answers of an older check or send are dropped.
    pub generation: u64,
    /// Server-side apply takes over fields other managers own.
    pub force: bool,
    /// The find pattern being typed (ctrl-f).
    pub finding: Option<String>,
    /// The namespace documents without one go to.
    pub namespace: String,
}

/// What the editor asks of the rest of the TUI.
#[derive(Debug, PartialEq)]
pub enum Wish {
    /// Close the editor.
    Close,
    /// Try these with a server dry run.
    DryRun(u64, Vec<Planned>),
    /// Send these.
    Send(u64, Vec<Planned>),
    /// Put this text on the clipboard.
    Copy(String),
    /// Edit this text in $VISUAL / $EDITOR; it comes back through [`Editor::replace`].
    External(String),
}

fn ctrl(key: &KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

impl Editor {
    fn with_text(text: &str, opened: Opened, namespace: &str) -> Editor {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut area = TextArea::new(lines.clone());
        area.set_max_histories(1000);
        area.set_tab_length(2);
        Editor {
            area,
            opened,
            original: lines,
            step: Step::Editing,
            marks: Vec::new(),
            note: None,
            generation: 0,
            force: false,
            finding: None,
            namespace: namespace.to_string(),
        }
    }

    /// An object of the cluster, to change and update.
    pub fn edit(object: ObjectRef, live: &Value) -> Editor {
        let at = apply::editable(live);
        let text = apply::editable_yaml(live);
        let namespace = object.namespace.clone();
        Editor::with_text(
            &text,
            Opened::Edit {
                object: Box::new(object),
                at,
            },
            &namespace,
        )
    }

    /// New objects from `text`, applied into `namespace` when they name none.
    pub fn new_objects(title: &str, text: &str, namespace: &str) -> Editor {
        Editor::with_text(
            text,
            Opened::New {
                title: title.to_string(),
            },
            namespace,
        )
    }

    pub fn text(&self) -> String {
        let mut t = self.area.lines().join("\n");
        t.push('\n');
        t
    }

    pub fn changed(&self) -> bool {
        self.area.lines() != self.original.as_slice()
    }

    /// The title: what is edited and how it will be sent.
    pub fn title(&self) -> String {
        match &self.opened {
            Opened::Edit { object, .. } => format!("edit {}", object.label()),
            Opened::New { title } => format!(
                "{title} → server-side apply as {}{} (namespace {} unless the YAML names one)",
                apply::FIELD_MANAGER,
                if self.force { ", force" } else { "" },
                self.namespace
            ),
        }
    }

    /// Text pasted from the terminal goes in at the cursor.
    pub fn paste(&mut self, text: &str) {
        if let Some(f) = self.finding.as_mut() {
            f.push_str(text.lines().next().unwrap_or(""));
        } else if matches!(self.step, Step::Editing) {
            self.area
                .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
        }
    }

    /// A key: edits the text, or moves through check, review and send.
    pub fn key(&mut self, key: KeyEvent, catalog: Option<&Catalog>) -> Vec<Wish> {
        match &mut self.step {
            Step::Editing => self.editing_key(key, catalog),
            Step::Leaving => {
                if key.code == KeyCode::Char('y') {
                    return vec![Wish::Close];
                }
                self.step = Step::Editing;
                self.note = Some(("your text is kept".into(), false));
                vec![]
            }
            Step::Checking | Step::Sending => {
                if key.code == KeyCode::Esc {
                    // The answer, when it comes, is dropped; the text is as it was.
                    self.generation += 1;
                    self.step = Step::Editing;
                    self.note = Some(("stopped waiting; your text is kept".into(), false));
                }
                vec![]
            }
            Step::Review {
                planned, scroll, ..
            } => match key.code {
                KeyCode::Char('y') => {
                    let planned = std::mem::take(planned);
                    self.generation += 1;
                    self.step = Step::Sending;
                    vec![Wish::Send(self.generation, planned)]
                }
                KeyCode::Char('f') if matches!(self.opened, Opened::New { .. }) => {
                    self.force = !self.force;
                    self.check(catalog)
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    *scroll = scroll.saturating_sub(1);
                    vec![]
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *scroll += 1;
                    vec![]
                }
                KeyCode::PageUp => {
                    *scroll = scroll.saturating_sub(10);
                    vec![]
                }
                KeyCode::PageDown => {
                    *scroll += 10;
                    vec![]
                }
                _ => {
                    self.step = Step::Editing;
                    self.note = Some(("nothing sent; your text is kept".into(), false));
                    vec![]
                }
            },
            Step::Conflict { live, scroll, .. } => match key.code {
                KeyCode::Char('r') => {
                    let live = live.clone();
                    self.resolve(&live, true, catalog)
                }
                KeyCode::Char('o') => {
                    let live = live.clone();
                    self.resolve(&live, false, catalog)
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    *scroll = scroll.saturating_sub(1);
                    vec![]
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    *scroll += 1;
                    vec![]
                }
                _ => {
                    self.step = Step::Editing;
                    self.note = Some((
                        "your text is kept; ctrl-s tries again (against the new version: a conflict again)".into(),
                        false,
                    ));
                    vec![]
                }
            },
        }
    }

    fn editing_key(&mut self, key: KeyEvent, catalog: Option<&Catalog>) -> Vec<Wish> {
        if let Some(pattern) = self.finding.as_mut() {
            match key.code {
                KeyCode::Esc => self.finding = None,
                KeyCode::Enter => {
                    let pattern = std::mem::take(pattern);
                    self.finding = None;
                    self.find(&pattern);
                }
                KeyCode::Backspace => {
                    pattern.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    pattern.push(c)
                }
                _ => {}
            }
            return vec![];
        }
        if key.code == KeyCode::Esc {
            if self.changed() {
                self.step = Step::Leaving;
                return vec![];
            }
            return vec![Wish::Close];
        }
        if ctrl(&key, 's') {
            return self.check(catalog);
        }
        if ctrl(&key, 'f') {
            self.finding = Some(String::new());
            return vec![];
        }
        if ctrl(&key, 'e') {
            return vec![Wish::External(self.text())];
        }
        if ctrl(&key, 'n') || ctrl(&key, 'p') || key.code == KeyCode::F(3) {
            if self.area.search_pattern().is_none() {
                self.note = Some(("no find yet: ctrl-f".into(), true));
            } else if !(if ctrl(&key, 'p') {
                self.area.search_back(false)
            } else {
                self.area.search_forward(false)
            }) {
                self.note = Some(("no other match".into(), true));
            }
            return vec![];
        }
        if key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Home | KeyCode::End)
        {
            // As most editors: the start or the end of the text.
            let (to, then) = if key.code == KeyCode::Home {
                (CursorMove::Top, CursorMove::Head)
            } else {
                (CursorMove::Bottom, CursorMove::End)
            };
            self.area.move_cursor(to);
            self.area.move_cursor(then);
            return vec![];
        }
        if ctrl(&key, 'z') {
            self.area.undo();
            return vec![];
        }
        if ctrl(&key, 'v') {
            self.area.paste();
            return vec![];
        }
        let copies = ctrl(&key, 'c') || ctrl(&key, 'x');
        self.area.input(key);
        if copies && !self.area.yank_text().is_empty() {
            return vec![Wish::Copy(self.area.yank_text())];
        }
        vec![]
    }

    fn find(&mut self, pattern: &str) {
        if pattern.is_empty() {
            let _ = self.area.set_search_pattern("");
            return;
        }
        let set = self
            .area
            .set_search_pattern(pattern)
            .or_else(|_| self.area.set_search_pattern(regex::escape(pattern)));
        if set.is_err() || !self.area.search_forward(true) {
            self.note = Some((format!("{pattern:?} not found"), true));
        } else {
            self.note = Some((
                format!("found {pattern:?}: ctrl-n next, ctrl-p previous"),
                false,
            ));
        }
    }

    /// ctrl-s: the text checked here, then tried by the server.
    fn check(&mut self, catalog: Option<&Catalog>) -> Vec<Wish> {
        self.marks.clear();
        let Some(catalog) = catalog else {
            self.note = Some((
                "the cluster's resources are not known yet (discovery): try again".into(),
                true,
            ));
            self.step = Step::Editing;
            return vec![];
        };
        let planned = apply::documents(&self.text()).and_then(|docs| {
            if docs.is_empty() {
                return Err(Mark {
                    line: 0,
                    column: 0,
                    message: "nothing to apply: the text has no document".into(),
                });
            }
            let way = |_: &apply::Document| match &self.opened {
                Opened::Edit { .. } => Way::Update,
                Opened::New { .. } => Way::Apply { force: self.force },
            };
            if matches!(self.opened, Opened::Edit { .. }) && docs.len() > 1 {
                return Err(Mark {
                    line: docs[1].first_line,
                    column: 0,
                    message: "an edit sends one object; :new takes several documents".into(),
                });
            }
            docs.iter()
                .map(|d| Planned::new(d, catalog, &self.namespace, way(d)))
                .collect::<Result<Vec<_>, _>>()
        });
        match planned {
            Ok(planned) => self.dry_run(planned),
            Err(mark) => {
                self.mark(vec![mark], "nothing was sent");
                vec![]
            }
        }
    }

    fn dry_run(&mut self, planned: Vec<Planned>) -> Vec<Wish> {
        self.generation += 1;
        self.step = Step::Checking;
        self.note = Some(("asking the server for a dry run…".into(), false));
        vec![Wish::DryRun(self.generation, planned)]
    }

    /// Marks the text and puts the cursor on the first mark.
    fn mark(&mut self, marks: Vec<Mark>, after: &str) {
        self.step = Step::Editing;
        if let Some(first) = marks.first() {
            self.area.move_cursor(CursorMove::Jump(
                u16::try_from(first.line).unwrap_or(u16::MAX),
                u16::try_from(first.column).unwrap_or(u16::MAX),
            ));
            let more = if marks.len() > 1 {
                format!(" (+{} more marked)", marks.len() - 1)
            } else {
                String::new()
            };
            self.note = Some((format!("{}{more} · {after}", first.say()), true));
        }
        self.marks = marks;
    }

    /// The dry run answered.
    pub fn reviewed(&mut self, generation: u64, reviewed: Vec<Reviewed>) {
        if generation != self.generation || !matches!(self.step, Step::Checking) {
            return;
        }
        if let Some(conflict) = reviewed
            .iter()
            .find(|r| changed_behind(&r.planned, &r.outcome))
        {
            self.conflict(conflict.live.clone());
            return;
        }
        let failed: Vec<(&Reviewed, &Failure)> = reviewed
            .iter()
            .filter_map(|r| r.outcome.as_ref().err().map(|f| (r, f)))
            .collect();
        if !failed.is_empty() {
            let marks = failed
                .iter()
                .flat_map(|(r, f)| refusal_marks(&r.planned, f))
                .collect();
            self.mark(marks, "the server refused it; nothing was sent");
            return;
        }
        let mut lines = Vec::new();
        for r in &reviewed {
            let before = r
                .live
                .as_ref()
                .map(apply::editable_yaml)
                .unwrap_or_default();
            let after = r
                .outcome
                .as_ref()
                .map(apply::editable_yaml)
                .unwrap_or_default();
            let d = diff::lines(&before, &after, 3);
            let (added, removed) = diff::counts(&d);
            let what = match (&r.live, added + removed) {
                (None, _) => "created".to_string(),
                (Some(_), 0) => "unchanged".to_string(),
                (Some(_), _) => format!("changed: +{added} -{removed}"),
            };
            lines.push(format!("▶ {} — {what}", r.planned.object.label()));
            lines.extend(diff::text(&d).lines().map(str::to_string));
            lines.push(String::new());
        }
        self.note = None;
        self.step = Step::Review {
            planned: reviewed.into_iter().map(|r| r.planned).collect(),
            lines,
            scroll: 0,
        };
    }

    fn conflict(&mut self, live: Option<Value>) {
        let Opened::Edit { at, .. } = &self.opened else {
            return;
        };
        let Some(live) = live else {
            self.mark(
                vec![Mark {
                    line: 0,
                    column: 0,
                    message: "the object was deleted since it was opened".into(),
                }],
                "nothing was sent",
            );
            return;
        };
        let d = diff::lines(&apply::editable_yaml(at), &apply::editable_yaml(&live), 3);
        let mut lines = vec![
            "▶ changed since you opened it (what the server has now, against what you started from):".to_string(),
        ];
        lines.extend(diff::text(&d).lines().map(str::to_string));
        self.note = None;
        self.step = Step::Conflict {
            live,
            lines,
            scroll: 0,
        };
    }

    /// After a conflict: the change made in the editor onto the new version (`reapply`), or
    /// the text as it is over the new version.
    fn resolve(&mut self, live: &Value, reapply: bool, catalog: Option<&Catalog>) -> Vec<Wish> {
        let (Opened::Edit { at, .. }, Some(catalog)) = (&self.opened, catalog) else {
            return vec![];
        };
        let docs = match apply::documents(&self.text()) {
            Ok(d) if d.len() == 1 => d,
            Ok(_) | Err(_) => return self.check(Some(catalog)),
        };
        let mut doc = docs[0].clone();
        let way = if reapply {
            let mine = apply::merge_patch(at, &doc.value);
            doc.value = mine;
            Way::Reapply
        } else {
            doc.value["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
            Way::Update
        };
        let mut planned = match Planned::new(&docs[0], catalog, &self.namespace, way) {
            Ok(p) => p,
            Err(mark) => {
                self.mark(vec![mark], "nothing was sent");
                return vec![];
            }
        };
        planned.body = doc.value;
        if reapply {
            // Further changes by others stay; only this edit's fields are written.
            self.opened = Opened::Edit {
                object: Box::new(planned.object.clone()),
                at: apply::editable(live),
            };
        }
        self.dry_run(vec![planned])
    }

    /// The send answered: None when everything was taken (the editor can close); else what
    /// to ask next, with the refused documents marked.
    pub fn sent(
        &mut self,
        generation: u64,
        results: &[(Planned, Result<Value, Failure>)],
        catalog: Option<&Catalog>,
    ) -> Option<Vec<Wish>> {
        if generation != self.generation {
            return Some(vec![]);
        }
        if results.iter().any(|(p, r)| changed_behind(p, r)) {
            // Changed between the dry run and the send: look again, which shows the conflict.
            return Some(self.check(catalog));
        }
        let marks: Vec<Mark> = results
            .iter()
            .filter_map(|(p, r)| r.as_ref().err().map(|f| refusal_marks(p, f)))
            .flatten()
            .collect();
        if marks.is_empty() {
            return None;
        }
        let taken = results.iter().filter(|(_, r)| r.is_ok()).count();
        self.mark(
            marks,
            &format!("{taken} of {} documents taken", results.len()),
        );
        Some(vec![])
    }

    /// The text as the external editor left it: one change, so ctrl-z takes it back.
    pub fn replace(&mut self, text: Result<String, String>) {
        match text {
            Ok(text) if text == self.text() => {
                self.note = Some(("the external editor changed nothing".into(), false));
            }
            Ok(text) => {
                self.area.select_all();
                self.area.cut();
                self.area
                    .insert_str(text.strip_suffix('\n').unwrap_or(&text));
                self.area.move_cursor(CursorMove::Top);
                self.note = Some((
                    "the external editor's text is in; ctrl-z takes it back".into(),
                    false,
                ));
            }
            Err(e) => self.note = Some((format!("external editor: {e}; your text is kept"), true)),
        }
    }

    /// Back to the text with a refusal said.
    pub fn refuse(&mut self, why: &str) {
        self.step = Step::Editing;
        self.note = Some((why.to_string(), true));
    }
}

/// Whether an edit was refused because the object changed since it was opened: an update
/// (it carries the resourceVersion opened at) answered 409.
fn changed_behind(planned: &Planned, answer: &Result<Value, Failure>) -> bool {
    planned.way == Way::Update && matches!(answer, Err(f) if f.code == 409)
}

/// A refused document's marks: the causes on their fields' lines, else the message on the
/// document's first line.
fn refusal_marks(planned: &Planned, failure: &Failure) -> Vec<Mark> {
    let marks = failure.marks(planned);
    if !marks.is_empty() {
        return marks;
    }
    vec![Mark {
        line: planned.first_line,
        column: 0,
        message: format!("{}: {}", planned.object.label(), failure.say()),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl_key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn type_text(e: &mut Editor, text: &str) {
        for c in text.chars() {
            let code = if c == '\n' {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            e.key(key(code), None);
        }
    }

    fn deployment() -> (ObjectRef, Value) {
        let catalog = crate::cluster::resources::test_catalog();
        let object = ObjectRef {
            resource: catalog.resolve("deploy").unwrap().clone(),
            namespace: "default".into(),
            name: "web".into(),
        };
        let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7", "managedFields": [{}]},
            "spec": {"replicas": 1}, "status": {"replicas": 1}});
        (object, live)
    }

    #[test]
    fn malformed_yaml_is_marked_and_nothing_is_asked_of_the_server() {
        let catalog = crate::cluster::resources::test_catalog();
        let mut e = Editor::new_objects("new", "", "default");
        type_text(
            &mut e,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
        );
        let wishes = e.key(ctrl_key('s'), Some(&catalog));
        assert_eq!(wishes, vec![]);
        assert!(matches!(e.step, Step::Editing));
        let (note, error) = e.note.clone().unwrap();
        assert!(error && note.starts_with("line "), "{note}");
        assert_eq!(e.marks.len(), 1);
        assert!(e.text().contains("name: [x"), "the text is kept");
    }

    #[test]
    fn an_edit_is_checked_reviewed_and_sent_as_an_update_at_its_version() {
        let catalog = crate::cluster::resources::test_catalog();
        let (object, live) = deployment();
        let mut e = Editor::edit(object, &live);
        assert!(!e.text().contains("managedFields") && !e.text().contains("status"));
        assert!(!e.changed());
        let wishes = e.key(ctrl_key('s'), Some(&catalog));
        let [Wish::DryRun(generation, planned)] = wishes.as_slice() else {
            panic!("{wishes:?}");
        };
        assert_eq!(planned[0].way, Way::Update);
        assert_eq!(planned[0].body["metadata"]["resourceVersion"], "7");
        let mut after = live.clone();
        after["spec"]["replicas"] = json!(3);
        e.reviewed(
            *generation,
            vec![Reviewed {
                planned: planned[0].clone(),
                live: Some(live.clone()),
                outcome: Ok(after),
            }],
        );
        let Step::Review { lines, .. } = &e.step else {
            panic!("{:?}", e.step);
        };
        assert!(lines[0].contains("changed: +1 -1"), "{lines:?}");
        assert!(lines.iter().any(|l| l == "+   replicas: 3"), "{lines:?}");
        let wishes = e.key(key(KeyCode::Char('y')), Some(&catalog));
        assert!(matches!(wishes.as_slice(), [Wish::Send(_, p)] if p.len() == 1));
    }

    #[test]
    fn a_conflict_keeps_the_text_and_offers_reapply_and_overwrite() {
        let catalog = crate::cluster::resources::test_catalog();
        let (object, live) = deployment();
        let mut e = Editor::edit(object, &live);
        e.area.move_cursor(CursorMove::Bottom);
        e.area.move_cursor(CursorMove::End);
        type_text(&mut e, "\n  paused: true");
        let Wish::DryRun(generation, planned) = e.key(ctrl_key('s'), Some(&catalog)).remove(0)
        else {
            panic!()
        };
        let mut newer = live.clone();
        newer["metadata"]["resourceVersion"] = json!("9");
        newer["spec"]["replicas"] = json!(5);
        let refused = Failure {
            code: 409,
            reason: "Conflict".into(),
            message: "the object has been modified".into(),
            causes: vec![],
        };
        e.reviewed(
            generation,
            vec![Reviewed {
                planned: planned[0].clone(),
                live: Some(newer.clone()),
                outcome: Err(refused),
            }],
        );
        let Step::Conflict { lines, .. } = &e.step else {
            panic!("{:?}", e.step)
        };
        assert!(lines.iter().any(|l| l == "+   replicas: 5"), "{lines:?}");
        // r: only the editor's change, as a merge patch, onto the newest version.
        let wishes = e.key(key(KeyCode::Char('r')), Some(&catalog));
        let [Wish::DryRun(_, planned)] = wishes.as_slice() else {
            panic!("{wishes:?}")
        };
        assert_eq!(planned[0].body, json!({"spec": {"paused": true}}));
        assert!(e.text().contains("paused: true"));
        // Esc from the review goes back to the text, still there.
        e.step = Step::Conflict {
            live: newer.clone(),
            lines: vec![],
            scroll: 0,
        };
        let wishes = e.key(key(KeyCode::Char('o')), Some(&catalog));
        let [Wish::DryRun(_, planned)] = wishes.as_slice() else {
            panic!("{wishes:?}")
        };
        assert_eq!(planned[0].way, Way::Update);
        assert_eq!(planned[0].body["metadata"]["resourceVersion"], "9");
        assert_eq!(planned[0].body["spec"]["paused"], true);
    }

    #[test]
    fn leaving_with_changes_asks_first_and_undo_and_find_work() {
        let mut e = Editor::new_objects("new", "a: 1\n", "default");
        assert_eq!(
            e.key(key(KeyCode::Esc), None),
            vec![Wish::Close],
            "unchanged: closes"
        );
        type_text(&mut e, "b");
        assert!(e.changed());
        assert_eq!(e.key(key(KeyCode::Esc), None), vec![]);
        assert!(matches!(e.step, Step::Leaving));
        assert_eq!(e.key(key(KeyCode::Char('n')), None), vec![]);
        assert!(matches!(e.step, Step::Editing) && e.text().starts_with("ba: 1"));
        e.key(ctrl_key('z'), None);
        assert_eq!(e.text(), "a: 1\n");
        e.key(ctrl_key('r'), None);
        assert_eq!(e.text(), "ba: 1\n");
        e.key(ctrl_key('f'), None);
        type_text(&mut e, "1\n");
        assert_eq!(e.area.cursor(), (0usize, 4usize));
    }
}
