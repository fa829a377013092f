//! The TUI's state and `update`: every key, supervisor event and tick becomes an [`Action`];
//! `update` changes the state and returns [`Effect`]s for the event loop to carry out. No I/O
//! and no awaiting here, so all of it is unit-tested with plain values.

use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::browser::{Browser, DetailKind, LogChange, Want};
use super::editor::{Editor, Wish};
use super::keymap::{Cmd, Keymap};
use crate::cluster::apply::{Failure, Planned, Reviewed};
use crate::cluster::object::ObjectRef;
use crate::cluster::resources::Catalog;
use crate::cluster::table::Update;
use crate::component::Component;
use crate::supervisor::logbuf::{LogBuffer, LogLine, Source};
use crate::supervisor::{Command, ComponentStatus, Event};

/// Lines kept per pane; older ones are in the component's log file.
pub const PANE_LOG_LINES: usize = 5000;

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Resize,
    Supervisor(Event),
    /// The event stream dropped this many events because the TUI fell behind.
    Lagged(u64),
    /// Once a second while something visible changes with time (uptime, restart countdown).
    Tick,
    /// Every component has stopped after a quit.
    ShutdownDone,
    /// Quit asked from outside: `kwb down`, SIGTERM, SIGHUP.
    QuitRequested,
    /// Discovery answered (or failed: the message).
    Catalog(Result<Catalog, String>),
    /// An update of the browser's watch of that generation.
    Table(u64, Update),
    /// Attach mode's look at the control plane.
    Health(Box<crate::cluster::health::Health>),
    /// The pod selector of an object Enter was pressed on (list generation, namespace).
    PodSelector(u64, String, Result<Option<String>, String>),
    /// The text of the browser's detail view of that generation, or why there is none.
    DetailText(u64, Result<String, String>),
    /// A line of a followed log in the detail view of that generation.
    DetailLine(u64, String),
    /// A change sent from the browser, and the server's answer.
    Changed(
        Box<crate::cluster::actions::Change>,
        Result<crate::cluster::actions::Done, String>,
    ),
    /// What an undo would do, to confirm (or why there is none).
    UndoPlanned(Result<Box<crate::cluster::actions::Change>, String>),
    /// The kubeconfig's contexts (`:ctx`).
    Contexts(Result<Vec<String>, String>),
    /// `:ctx NAME` connected to that context, or why it could not.
    Switched(Result<Box<Switched>, String>),
    /// The log view of that generation opened its streams: the containers to choose from,
    /// and a note (e.g. only some of a workload's pods followed).
    LogPlan(u64, Vec<String>, Option<String>),
    /// What the tour looks at in the cluster, as it is now.
    TourObserved(Box<super::tour::Observed>),
    /// The text as $EDITOR left it (or why there is none).
    EditorReplaced(Result<String, String>),
    /// A mouse event (`--mouse`): what, at column and row.
    Mouse(crossterm::event::MouseEventKind, u16, u16),
    /// How a change under way goes (a drain's pods going).
    Progress(String),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// The object to edit, as the cluster has it now (or why it could not be read).
    EditorOpen(Result<Box<(ObjectRef, serde_json::Value)>, String>),
    /// A file for `:apply FILE` (or why it could not be read).
    EditorFile(String, Result<String, String>),
    /// The editor's dry run of that generation answered.
    EditorReviewed(u64, Vec<Reviewed>),
    /// The editor's documents of that generation were sent.
    EditorSent(u64, Vec<(Planned, Result<serde_json::Value, Failure>)>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    Supervisor(Command),
    /// Stop everything, then send `ShutdownDone`.
    Shutdown,
    /// Ask the cluster for the browser.
    Cluster(Box<Want>),
    /// The detail view closed: its log follow can stop.
    CloseDetail,
    /// Send a change to the cluster; its answer comes back as [`Action::Changed`].
    Change(Box<crate::cluster::actions::Change>),
    /// Ask the cluster what undoing this Deployment would do ([`Action::UndoPlanned`]).
    PlanUndo(Box<crate::cluster::object::ObjectRef>, Option<i64>),
    /// Read the object for the editor ([`Action::EditorOpen`]).
    FetchForEdit(Box<ObjectRef>),
    /// Read a file for the editor ([`Action::EditorFile`]).
    ReadFile(String),
    /// Try the editor's documents with a server dry run ([`Action::EditorReviewed`]).
    DryRun(u64, Vec<Planned>),
    /// Send the editor's documents ([`Action::EditorSent`]).
    Apply(u64, Vec<Planned>),
    /// Put the text on the clipboard (the desktop's, else the terminal's through OSC 52).
    Copy(String),
    /// Hand the terminal to $VISUAL / $EDITOR with this text ([`Action::EditorReplaced`]).
    ExternalEditor(String),
    /// Switch to the next bundled theme.
    NextTheme,
}

/// Where `:ctx NAME` led.
#[derive(Debug)]
pub struct Switched {
    pub cluster: String,
    pub server: String,
    /// The context's namespace, if it names one.
    pub namespace: Option<String>,
    pub attached: Attached,
}

/// What the header shows about the cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterInfo {
    pub name: String,
    pub data_dir: String,
    pub kubeconfig: String,
    pub apiserver_url: String,
    /// `kwb --attach`: a cluster kwb does not run.
    pub attached: Option<Attached>,
    /// `--readonly`: every change to the cluster is refused.
    pub readonly: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Attached {
    pub context: String,
    pub user: String,
    pub server_version: String,
}

#[derive(Debug)]
pub struct Pane {
    /// The first unit's status: the component's, or the first node's kubelet's.
    pub status: ComponentStatus,
    /// The kubelets of further nodes, which share this pane; empty for everything else.
    pub other_nodes: Vec<ComponentStatus>,
    pub log: LogBuffer,
    /// `None` follows the newest line; `Some(n)` keeps line `n` at the bottom.
    pub scroll: Option<u64>,
    /// The search and the line of its current match.
    pub search: Option<(String, Option<u64>)>,
}

#[derive(Debug)]
pub struct State {
    pub panes: Vec<Pane>,
    pub focus: usize,
    pub zoomed: bool,
    pub help: bool,
    /// The first help row shown, when help is taller than the screen.
    pub help_scroll: usize,
    /// Text being typed after `/`.
    pub search_input: Option<String>,
    pub quitting: bool,
    pub done: bool,
    pub info: ClusterInfo,
    /// The bottom bar's message and whether it reports an error.
    pub message: Option<(String, bool, Instant)>,
    /// Log rows of the focused pane on screen, for page up/down; set by the view.
    pub page_rows: u16,
    pub browser: Browser,
    /// The keys move in the browser rather than in the focused pane.
    pub browser_focus: bool,
    /// Attach mode: what the cluster reveals about its control plane, newest look.
    pub health: Option<crate::cluster::health::Health>,
    /// Changes asked for and sent from the browser.
    pub changes: super::changes::Changes,
    /// The YAML editor, over everything else while open.
    pub editor: Option<Editor>,
    /// Presenter mode (`--present`): the keys pressed, shown to the room.
    pub present: Option<super::presenter::Presenter>,
    /// `kwb tour`: the workshop's step.
    pub tour: Option<super::tour::Tour>,
    /// Where the view drew the panes and the browser, for the mouse.
    pub areas: Areas,
}

/// The screen areas a click or the wheel can aim at, as last drawn.
#[derive(Clone, Debug, Default)]
pub struct Areas {
    /// Each pane's area, by pane index.
    pub panes: Vec<ratatui::layout::Rect>,
    pub browser: Option<ratatui::layout::Rect>,
}

impl State {
    pub fn new(statuses: Vec<ComponentStatus>, info: ClusterInfo) -> State {
        let mut panes: Vec<Pane> = Vec::new();
        for status in statuses {
            match panes
                .iter_mut()
                .find(|p| p.status.component == status.component)
            {
                Some(p) => p.other_nodes.push(status),
                None => panes.push(Pane {
                    status,
                    other_nodes: Vec::new(),
                    log: LogBuffer::new(PANE_LOG_LINES),
                    scroll: None,
                    search: None,
                }),
            }
        }
        State {
            panes,
            focus: 0,
            zoomed: false,
            help: false,
            help_scroll: 0,
            search_input: None,
            quitting: false,
            done: false,
            info,
            message: None,
            page_rows: 10,
            browser: Browser::default(),
            browser_focus: false,
            health: None,
            changes: super::changes::Changes::default(),
            editor: None,
            present: None,
            tour: None,
            areas: Areas::default(),
        }
    }

    /// `/` filters the browser's rows rather than searching the focused log.
    pub fn filtering(&self) -> bool {
        self.browser_focus && self.browser.detail.is_none() && self.browser.resource.is_some()
    }

    pub fn focused(&self) -> &Pane {
        &self.panes[self.focus]
    }

    fn pane_of(&mut self, c: Component) -> Option<&mut Pane> {
        self.panes.iter_mut().find(|p| p.status.component == c)
    }

    /// Whether something on screen changes with the clock alone.
    pub fn needs_tick(&self) -> bool {
        self.panes
            .iter()
            .flat_map(|p| p.statuses())
            .any(|s| s.started_at.is_some() || s.restart_at.is_some())
            || self.message.is_some()
            || self.present.as_ref().is_some_and(|p| p.showing())
    }

    /// The bottom line's message (an error when `error`), fading after a few seconds.
    pub fn say(&mut self, text: impl Into<String>, error: bool) {
        self.message = Some((text.into(), error, Instant::now()));
    }
}

impl Pane {
    /// Every unit shown in this pane: one, or each node's kubelet.
    pub fn statuses(&self) -> impl Iterator<Item = &ComponentStatus> {
        std::iter::once(&self.status).chain(&self.other_nodes)
    }

    fn set_status(&mut self, s: ComponentStatus) {
        if s.node == self.status.node {
            self.status = s;
        } else if let Some(o) = self.other_nodes.iter_mut().find(|o| o.node == s.node) {
            *o = s;
        } else {
            self.other_nodes.push(s);
        }
    }

    /// With several nodes in the pane, a line says whose it is.
    fn line_prefix(&self, node: u16) -> Option<String> {
        if self.other_nodes.is_empty() {
            return None;
        }
        let name = self
            .statuses()
            .find(|s| s.node == node)?
            .node_name
            .clone()?;
        Some(format!("[{name}] "))
    }
}

/// Messages in the bottom bar fade after this long.
const MESSAGE_SECS: u64 = 5;

pub fn update(state: &mut State, action: Action, keymap: &Keymap) -> Vec<Effect> {
    match action {
        Action::Supervisor(Event::Status(s)) => {
            if let Some(p) = state.pane_of(s.component) {
                p.set_status(s);
            }
            advance_tour(state);
            vec![]
        }
        Action::TourObserved(observed) => {
            if let Some(t) = state.tour.as_mut() {
                t.observed = *observed;
            }
            advance_tour(state);
            vec![]
        }
        Action::Supervisor(Event::Log(unit, mut line)) => {
            if let Some(text) = super::logfmt::readable(&line.text) {
                line.text = text;
            }
            if let Some(p) = state.pane_of(unit.component) {
                if let Some(prefix) = p.line_prefix(unit.node) {
                    line.text.insert_str(0, &prefix);
                }
                p.log.push(line);
            }
            vec![]
        }
        Action::Lagged(n) => {
            for p in &mut state.panes {
                p.log.push(LogLine::new(
                    Source::Supervisor,
                    format!(
                        "{n} events skipped while the screen caught up; the log file has every line"
                    ),
                ));
            }
            vec![]
        }
        Action::Tick => {
            if let Some(p) = state.present.as_mut() {
                p.fade();
            }
            if state
                .message
                .as_ref()
                .is_some_and(|(_, _, at)| at.elapsed().as_secs() >= MESSAGE_SECS)
            {
                state.message = None;
            }
            vec![]
        }
        Action::Resize => vec![],
        Action::ShutdownDone => {
            state.done = true;
            vec![]
        }
        Action::QuitRequested => quit(state),
        Action::Key(key) => on_key(state, key, keymap),
        Action::Catalog(Ok(catalog)) => {
            let done = state.browser.catalog(catalog);
            browser_done(state, done)
        }
        Action::Catalog(Err(e)) => {
            state.say(format!("discovery failed: {e}"), true);
            vec![]
        }
        Action::Table(generation, update) => {
            state.browser.update(generation, update);
            vec![]
        }
        Action::Health(health) => {
            state.health = Some(*health);
            vec![]
        }
        Action::PodSelector(generation, namespace, selector) => {
            let done = state
                .browser
                .selected_pods(generation, &namespace, selector);
            browser_done(state, done)
        }
        Action::DetailText(generation, text) => {
            state.browser.detail_text(generation, text);
            vec![]
        }
        Action::DetailLine(generation, line) => {
            state.browser.detail_line(generation, line);
            vec![]
        }
        Action::Changed(change, result) => {
            match &result {
                Ok(done) => state.say(done.answer.clone(), false),
                Err(e) => state.say(format!("{}: {e}", change.summary()), true),
            }
            state.changes.record(change.summary(), result);
            vec![]
        }
        Action::UndoPlanned(Ok(change)) => {
            state.changes.asking = Some(super::changes::Ask::Confirm(*change));
            vec![]
        }
        Action::UndoPlanned(Err(e)) => {
            state.say(format!("undo: {e}"), true);
            vec![]
        }
        Action::Contexts(Ok(names)) => {
            let current = state.info.attached.as_ref().map(|a| a.context.as_str());
            let listed: Vec<String> = names
                .iter()
                .map(|n| {
                    if Some(n.as_str()) == current {
                        format!("{n} (current)")
                    } else {
                        n.clone()
                    }
                })
                .collect();
            state.say(
                format!("contexts: {} · :ctx NAME switches", listed.join(", ")),
                false,
            );
            vec![]
        }
        Action::Contexts(Err(e)) => {
            state.say(e, true);
            vec![]
        }
        Action::Switched(Ok(to)) => {
            let to = *to;
            state.say(format!("context {}", to.attached.context), false);
            state.info.name = to.cluster;
            state.info.apiserver_url = to.server;
            state.info.attached = Some(to.attached);
            // The old cluster's look is not this one's.
            state.health = None;
            let done = state.browser.switched(to.namespace);
            browser_done(state, done)
        }
        Action::Switched(Err(e)) => {
            state.say(e, true);
            vec![]
        }
        Action::LogPlan(generation, containers, note) => {
            state.browser.log_plan(generation, containers, note);
            vec![]
        }
        Action::EditorReplaced(text) => {
            if let Some(e) = state.editor.as_mut() {
                e.replace(text);
            }
            vec![]
        }
        Action::Mouse(kind, column, row) => {
            on_mouse(state, kind, column, row);
            vec![]
        }
        Action::Progress(text) => {
            state.say(text, false);
            vec![]
        }
        Action::Paste(text) => {
            if let Some(e) = state.editor.as_mut() {
                e.paste(&text);
            } else if let Some(input) = state.browser.input.as_mut() {
                input.push_str(text.lines().next().unwrap_or(""));
                state.browser.edited();
            } else if let Some(input) = state.search_input.as_mut() {
                input.push_str(text.lines().next().unwrap_or(""));
            }
            vec![]
        }
        Action::EditorOpen(Ok(opened)) => {
            let (object, value) = *opened;
            state.editor = Some(Editor::edit(object, &value));
            vec![]
        }
        Action::EditorOpen(Err(e)) => {
            state.say(format!("edit: {e}"), true);
            vec![]
        }
        Action::EditorFile(path, Ok(text)) => {
            let namespace = browser_namespace(state);
            state.editor = Some(Editor::new_objects(&path, &text, &namespace));
            vec![]
        }
        Action::EditorFile(path, Err(e)) => {
            state.say(format!("apply {path}: {e}"), true);
            vec![]
        }
        Action::EditorReviewed(generation, reviewed) => {
            if let Some(e) = state.editor.as_mut() {
                e.reviewed(generation, reviewed);
            }
            vec![]
        }
        Action::EditorSent(generation, results) => editor_sent(state, generation, results),
    }
}

/// `--mouse`: a click focuses the pane or browser under the pointer; the wheel scrolls it.
fn on_mouse(state: &mut State, kind: crossterm::event::MouseEventKind, column: u16, row: u16) {
    use crossterm::event::{MouseButton, MouseEventKind};
    if state.editor.is_some() || state.help || state.quitting {
        return;
    }
    let at = ratatui::layout::Position { x: column, y: row };
    let pane = state.areas.panes.iter().position(|a| a.contains(at));
    let browser = state.areas.browser.is_some_and(|a| a.contains(at));
    let delta = match kind {
        MouseEventKind::ScrollUp => -3,
        MouseEventKind::ScrollDown => 3,
        MouseEventKind::Down(MouseButton::Left) => 0,
        _ => return,
    };
    if let Some(i) = pane {
        state.focus = i;
        state.browser_focus = false;
        if delta != 0 {
            scroll_by(state, delta);
        }
    } else if browser {
        state.browser_focus = state.browser.resource.is_some() || state.panes.is_empty();
        if delta == 0 {
            return;
        }
        if state.browser.detail.is_some() {
            let rows = usize::from(state.page_rows.max(1));
            state.browser.scroll_detail(delta, rows);
        } else {
            state.browser.move_selection(delta.signum());
        }
    }
}

/// The tour goes past the steps the cluster shows done, and says where it is now.
fn advance_tour(state: &mut State) {
    let ready: Vec<crate::component::Component> = state
        .panes
        .iter()
        .filter(|p| p.status.phase == crate::supervisor::lifecycle::Phase::Ready)
        .map(|p| p.status.component)
        .collect();
    let Some(tour) = state.tour.as_mut() else {
        return;
    };
    if tour.advance(&|c| ready.contains(&c)) {
        let said = match super::tour::STEPS.get(tour.at) {
            Some(step) => format!("done! next: {}", step.title),
            None => "the tour is done".to_string(),
        };
        state.say(said, false);
    }
}

/// Where new objects that name no namespace go: the browser's namespace, else default.
fn browser_namespace(state: &State) -> String {
    state
        .browser
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into())
}

/// The editor's documents were sent: each answer in the change log; the editor closes when
/// every one was taken, and stays with the refused ones marked otherwise.
fn editor_sent(
    state: &mut State,
    generation: u64,
    results: Vec<(Planned, Result<serde_json::Value, Failure>)>,
) -> Vec<Effect> {
    let Some(editor) = state.editor.as_mut() else {
        return vec![];
    };
    if generation != editor.generation {
        return vec![];
    }
    let mut taken = Vec::new();
    for (planned, result) in &results {
        let result = match result {
            Ok(object) => {
                let rv = object["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or("?");
                taken.push(planned.object.name.clone());
                Ok(crate::cluster::actions::Done {
                    sent: planned.describe(),
                    answer: format!("{} taken (resourceVersion {rv})", planned.object.label()),
                })
            }
            Err(f) => Err(f.say()),
        };
        state
            .changes
            .record(format!("apply {}", planned.object.label()), result);
    }
    match editor.sent(generation, &results, state.browser.catalog.as_ref()) {
        None => {
            state.editor = None;
            state.say(format!("applied: {}", taken.join(", ")), false);
            vec![]
        }
        Some(wishes) => editor_wishes(state, wishes),
    }
}

/// A key while the editor is open: all of them are the editor's.
fn editor_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(editor) = state.editor.as_mut() else {
        return vec![];
    };
    let wishes = editor.key(key, state.browser.catalog.as_ref());
    editor_wishes(state, wishes)
}

fn editor_wishes(state: &mut State, wishes: Vec<Wish>) -> Vec<Effect> {
    let mut effects = Vec::new();
    for wish in wishes {
        match wish {
            Wish::Close => state.editor = None,
            Wish::DryRun(generation, planned) => effects.push(Effect::DryRun(generation, planned)),
            Wish::Send(..) if state.info.readonly => {
                if let Some(e) = state.editor.as_mut() {
                    e.refuse("read-only (--readonly): nothing is sent; your text is kept");
                }
            }
            Wish::Send(generation, planned) => effects.push(Effect::Apply(generation, planned)),
            Wish::Copy(text) => effects.push(Effect::Copy(text)),
            Wish::External(text) => effects.push(Effect::ExternalEditor(text)),
        }
    }
    effects
}

/// `:new [TEMPLATE]`, `:apply FILE`, `:edit`, `:diff [REVISION]`: the `:` commands that open
/// the editor or a view of the selected row; None for others.
fn editor_command(state: &mut State, text: &str) -> Option<Vec<Effect>> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        ["new"] => {
            state.say(
                format!(
                    "templates: {} · :new NAME opens one, :apply FILE a file",
                    super::templates::names()
                ),
                false,
            );
            Some(vec![])
        }
        ["new", name] => {
            match super::templates::named(name) {
                Some((name, template)) => {
                    let namespace = browser_namespace(state);
                    state.editor = Some(Editor::new_objects(
                        &format!("new {name}"),
                        template,
                        &namespace,
                    ));
                }
                None => state.say(
                    format!(
                        "no template {name:?} (there are: {})",
                        super::templates::names()
                    ),
                    true,
                ),
            }
            Some(vec![])
        }
        ["apply", path] => Some(vec![Effect::ReadFile(path.to_string())]),
        ["apply", ..] => {
            state.say("apply FILE: the file's documents open in the editor", true);
            Some(vec![])
        }
        ["edit"] => Some(begin_edit(state)),
        ["diff"] => Some(open_view(state, DetailKind::RevisionDiff(None))),
        ["diff", n] => Some(match n.parse() {
            Ok(n) => open_view(state, DetailKind::RevisionDiff(Some(n))),
            Err(_) => {
                state.say(format!("diff: {n:?} is not a revision number"), true);
                vec![]
            }
        }),
        _ => None,
    }
}

/// A detail view of the selected row, from a `:` command.
fn open_view(state: &mut State, kind: DetailKind) -> Vec<Effect> {
    let done = state.browser.open(kind);
    browser_done(state, done)
}

/// `e` on the selected row: its YAML in the editor, once the cluster has answered.
fn begin_edit(state: &mut State) -> Vec<Effect> {
    match state.browser.selected_object() {
        Some((object, _)) => {
            state.say(format!("reading {}…", object.label()), false);
            vec![Effect::FetchForEdit(Box::new(object))]
        }
        None => {
            state.say("edit: no row selected", true);
            vec![]
        }
    }
}

/// `a` on a list: a template of its kind (a blank one for kinds without one).
fn begin_new(state: &mut State) {
    let plural = state
        .browser
        .resource
        .as_ref()
        .map(|r| r.plural.clone())
        .unwrap_or_default();
    let (name, template) = super::templates::for_resource(&plural);
    let namespace = browser_namespace(state);
    state.editor = Some(Editor::new_objects(
        &format!("new {name}"),
        template,
        &namespace,
    ));
}

/// The browser's wants become effects, and what it says goes to the bottom line.
pub fn browser_done(
    state: &mut State,
    (wants, said): (Vec<Want>, Option<super::browser::Said>),
) -> Vec<Effect> {
    match said {
        Some(Ok(text)) => state.say(text, false),
        Some(Err(text)) => state.say(text, true),
        None => {}
    }
    if wants.iter().any(|w| matches!(w, Want::Watch { .. })) {
        state.browser_focus = true;
    }
    let (wants, refused): (Vec<Want>, Vec<Want>) = wants
        .into_iter()
        .partition(|w| state.info.attached.is_some() || !matches!(w, Want::Context(_)));
    if !refused.is_empty() {
        state.say(
            "local mode shows its own cluster: kwb --attach KUBECONFIG --context NAME for another",
            true,
        );
    }
    wants
        .into_iter()
        .map(|w| Effect::Cluster(Box::new(w)))
        .collect()
}

/// A key that changes the cluster, on the browser's selected row: sent at once, or asked
/// about first; refused in read-only mode.
fn begin_change(state: &mut State, cmd: Cmd) -> Vec<Effect> {
    let next = super::changes::plan(&mut state.browser, cmd);
    act(state, next)
}

/// A change planned from a key or a `:` command: refused, sent, or asked about.
fn act(state: &mut State, next: Result<super::changes::Next, String>) -> Vec<Effect> {
    use super::changes::Next;
    match next {
        Err(why) => state.say(why, true),
        Ok(next) if state.info.readonly => {
            let what = match &next {
                Next::Send(c) | Next::Ask(super::changes::Ask::Confirm(c)) => c.summary(),
                Next::Ask(super::changes::Ask::Replicas { object, .. }) => {
                    format!("scale {}", object.label())
                }
                Next::PlanUndo(object, _) => format!("undo {}", object.label()),
            };
            state.say(format!("read-only (--readonly): {what} is not sent"), true);
        }
        Ok(Next::Send(change)) => {
            state.say(format!("{}…", change.summary()), false);
            return vec![Effect::Change(Box::new(change))];
        }
        Ok(Next::Ask(ask)) => state.changes.asking = Some(ask),
        Ok(Next::PlanUndo(object, to)) => {
            state.say(
                format!("undo {}: looking at its history…", object.label()),
                false,
            );
            return vec![Effect::PlanUndo(Box::new(object), to)];
        }
    }
    vec![]
}

/// Keys while the `:` prompt is open.
fn on_command_key(state: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(input) = state.browser.input.as_mut() else {
        return vec![];
    };
    match key.code {
        KeyCode::Esc => state.browser.input = None,
        KeyCode::Enter => {
            let text = state.browser.take_input();
            if let Some(p) = state.present.as_mut() {
                p.pressed(format!(":{text}"), "command");
            }
            if let Some(effects) = editor_command(state, &text) {
                return effects;
            }
            if let Some(next) = super::changes::from_command(&mut state.browser, &text) {
                return act(state, next);
            }
            let done = state.browser.command(&text);
            return browser_done(state, done);
        }
        KeyCode::Tab => state.browser.complete(),
        KeyCode::Up => state.browser.recall(true),
        KeyCode::Down => state.browser.recall(false),
        KeyCode::Backspace => {
            input.pop();
            state.browser.edited();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            input.push(c);
            state.browser.edited();
        }
        _ => {}
    }
    vec![]
}

fn on_key(state: &mut State, key: KeyEvent, keymap: &Keymap) -> Vec<Effect> {
    if state.quitting {
        return vec![];
    }
    if state.editor.is_some() {
        return editor_key(state, key);
    }
    if state.browser.input.is_some() {
        return on_command_key(state, key);
    }
    if state.changes.asking.is_some() {
        return match state.changes.answer(key) {
            Some(change) => vec![Effect::Change(Box::new(change))],
            None => vec![],
        };
    }
    if let Some(input) = state.search_input.as_mut() {
        match key.code {
            KeyCode::Esc => state.search_input = None,
            KeyCode::Enter => {
                let needle = std::mem::take(input);
                state.search_input = None;
                if state.filtering() {
                    let wants = state.browser.set_filter(&needle);
                    return browser_done(state, (wants, None));
                }
                if state.browser_focus
                    && let Some(d) = state.browser.detail.as_mut()
                {
                    let said = d.search_for(&needle, usize::from(state.page_rows.max(1)));
                    return browser_done(state, (vec![], Some(said)));
                }
                search(state, needle);
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
            _ => {}
        }
        return vec![];
    }
    let Some(cmd) = keymap.command(&key) else {
        return vec![];
    };
    // Quitting ends the session; the overlay shows what happens on screen.
    if state.present.is_some() && cmd != Cmd::Quit {
        let did = presented(state, cmd);
        let shown =
            super::keymap::Key::from_event(&key).map_or_else(String::new, |k| k.to_string());
        if let Some(p) = state.present.as_mut() {
            p.pressed(shown, did);
        }
    }
    if cmd == Cmd::NextTheme {
        return vec![Effect::NextTheme];
    }
    if state.help && !matches!(cmd, Cmd::Quit) {
        // Scroll keys scroll a help taller than the screen; any other key closes it and does
        // nothing else, so a stray key is harmless.
        let page = usize::from(state.page_rows.max(1));
        match cmd {
            Cmd::ScrollDown => state.help_scroll += 1,
            Cmd::PageDown => state.help_scroll += page,
            Cmd::ScrollUp => state.help_scroll = state.help_scroll.saturating_sub(1),
            Cmd::PageUp => state.help_scroll = state.help_scroll.saturating_sub(page),
            Cmd::ScrollTop => state.help_scroll = 0,
            _ => state.help = false,
        }
        return vec![];
    }
    let n = state.panes.len();
    if state.browser_focus && state.browser.detail.is_some() {
        let rows = usize::from(state.page_rows.max(1));
        let page = rows as i64;
        let scroll = |state: &mut State, delta: i64| {
            state.browser.scroll_detail(delta, rows);
            vec![]
        };
        match cmd {
            Cmd::ScrollUp => return scroll(state, -1),
            Cmd::ScrollDown => return scroll(state, 1),
            Cmd::PageUp => return scroll(state, -page),
            Cmd::PageDown => return scroll(state, page),
            Cmd::ScrollTop => return scroll(state, i64::MIN / 2),
            Cmd::Follow => return scroll(state, i64::MAX / 2),
            Cmd::Back => {
                if let Some(d) = state.browser.detail.as_mut().filter(|d| d.search.is_some()) {
                    d.search = None;
                    d.found = None;
                    return vec![];
                }
                state.browser.detail = None;
                return vec![Effect::CloseDetail];
            }
            Cmd::SearchNext | Cmd::SearchPrev => {
                let d = state.browser.detail.as_mut().expect("checked above");
                let said = d.next_match(cmd == Cmd::SearchNext, rows);
                return browser_done(state, (vec![], Some(said)));
            }
            Cmd::Wrap => {
                let d = state.browser.detail.as_mut().expect("checked above");
                d.wrap = !d.wrap;
                return vec![];
            }
            Cmd::Pause => {
                let d = state.browser.detail.as_mut().expect("checked above");
                if d.kind == DetailKind::Logs {
                    d.toggle_pause(rows);
                }
                return vec![];
            }
            Cmd::LogContainer | Cmd::LogPrevious | Cmd::LogTimestamps => {
                let change = match cmd {
                    Cmd::LogContainer => LogChange::NextContainer,
                    Cmd::LogPrevious => LogChange::Previous,
                    _ => LogChange::Timestamps,
                };
                let done = state.browser.change_log(change);
                return browser_done(state, done);
            }
            _ => {}
        }
    }
    if state.browser_focus {
        let page = i64::from(state.page_rows.max(1));
        let rows = state.browser.row_count() as i64;
        match cmd {
            Cmd::ScrollUp => return move_in_browser(state, -1),
            Cmd::ScrollDown => return move_in_browser(state, 1),
            Cmd::PageUp => return move_in_browser(state, -page),
            Cmd::PageDown => return move_in_browser(state, page),
            Cmd::ScrollTop => return move_in_browser(state, -rows),
            Cmd::Follow => return move_in_browser(state, rows),
            Cmd::SortNext => {
                state.browser.sort_next();
                return vec![];
            }
            Cmd::SortReverse => {
                state.browser.sort_reverse();
                return vec![];
            }
            Cmd::Yaml | Cmd::Describe | Cmd::Logs | Cmd::Events | Cmd::History => {
                let kind = match cmd {
                    Cmd::Yaml => DetailKind::Yaml,
                    Cmd::Describe => DetailKind::Describe,
                    Cmd::Events => DetailKind::Events,
                    Cmd::History => DetailKind::History,
                    _ => DetailKind::Logs,
                };
                let done = state.browser.open(kind);
                return browser_done(state, done);
            }
            Cmd::Back if state.browser.detail.is_none() => {
                if let Some(wants) = state.browser.back() {
                    return browser_done(state, (wants, None));
                }
                if state.panes.is_empty() {
                    return vec![];
                }
                state.browser_focus = false;
                return vec![];
            }
            Cmd::Edit if state.browser.detail.is_none() => return begin_edit(state),
            Cmd::New if state.browser.detail.is_none() => {
                begin_new(state);
                return vec![];
            }
            Cmd::Copy => return copy(state),
            cmd if super::changes::mutates(cmd) && state.browser.detail.is_none() => {
                return begin_change(state, cmd);
            }
            Cmd::Zoom if state.browser.detail.is_none() && state.browser.resource.is_some() => {
                let done = state.browser.related();
                return browser_done(state, done);
            }
            Cmd::FocusNext | Cmd::FocusPrev | Cmd::Focus(_) | Cmd::Back
                if !state.panes.is_empty() =>
            {
                state.browser_focus = false;
                if cmd == Cmd::Back {
                    return vec![];
                }
            }
            _ => {}
        }
    }
    if state.panes.is_empty() {
        // Attached: there are no local components to focus, start or stop.
        match cmd {
            Cmd::Command => state.browser.prompt(),
            Cmd::Search => state.search_input = Some(String::new()),
            Cmd::Help => {
                state.help = true;
                state.help_scroll = 0;
            }
            Cmd::Quit => return quit(state),
            Cmd::Back | Cmd::FocusBrowser => state.browser_focus = true,
            _ => state.say("attached: kwb does not run this cluster's components", true),
        }
        return vec![];
    }
    let focused = state.panes[state.focus].status.component;
    match cmd {
        Cmd::Command => state.browser.prompt(),
        // Only in the focused browser (above).
        Cmd::Yaml
        | Cmd::Describe
        | Cmd::Logs
        | Cmd::Events
        | Cmd::History
        | Cmd::SortNext
        | Cmd::SortReverse
        | Cmd::LogContainer
        | Cmd::LogPrevious
        | Cmd::LogTimestamps
        | Cmd::Wrap
        | Cmd::Pause
        | Cmd::ToggleTaint
        | Cmd::Cordon
        | Cmd::Scale
        | Cmd::RestartWorkload
        | Cmd::Undo
        | Cmd::Edit
        | Cmd::New
        | Cmd::Copy
        | Cmd::NextTheme
        | Cmd::Delete => {}
        Cmd::FocusBrowser => state.browser_focus = state.browser.resource.is_some(),
        Cmd::FocusNext => state.focus = (state.focus + 1) % n,
        Cmd::FocusPrev => state.focus = (state.focus + n - 1) % n,
        Cmd::Focus(c) => {
            if let Some(i) = state.panes.iter().position(|p| p.status.component == c) {
                state.focus = i;
            }
        }
        Cmd::Zoom => state.zoomed = !state.zoomed,
        Cmd::Start => {
            state.say(format!("starting {focused}"), false);
            return vec![Effect::Supervisor(Command::Start(focused.into()))];
        }
        Cmd::Stop => {
            state.say(format!("stopping {focused}"), false);
            return vec![Effect::Supervisor(Command::Stop(focused.into()))];
        }
        Cmd::Restart => {
            state.say(format!("restarting {focused}"), false);
            return vec![Effect::Supervisor(Command::Restart(focused.into()))];
        }
        Cmd::StartAll => {
            state.say("starting all components in order", false);
            return vec![Effect::Supervisor(Command::StartAll)];
        }
        Cmd::StopAll => {
            state.say("stopping all components", false);
            return vec![Effect::Supervisor(Command::StopAll)];
        }
        Cmd::ScrollUp => scroll_by(state, -1),
        Cmd::ScrollDown => scroll_by(state, 1),
        Cmd::PageUp => scroll_by(state, -i64::from(state.page_rows.max(1))),
        Cmd::PageDown => scroll_by(state, i64::from(state.page_rows.max(1))),
        Cmd::ScrollTop => {
            let p = &mut state.panes[state.focus];
            if !p.log.is_empty() {
                let last = p.log.end_number() - 1;
                let top = p.log.first_number() + u64::from(state.page_rows.max(1)) - 1;
                p.scroll = Some(top.min(last));
            }
        }
        Cmd::Follow => state.panes[state.focus].scroll = None,
        Cmd::Search => state.search_input = Some(String::new()),
        Cmd::SearchNext => step_search(state, true),
        Cmd::SearchPrev => step_search(state, false),
        Cmd::Back => {
            let p = &mut state.panes[state.focus];
            if state.help {
                state.help = false;
            } else if p.search.is_some() {
                p.search = None;
                p.scroll = None;
            } else if state.zoomed {
                state.zoomed = false;
            }
        }
        Cmd::Help => {
            state.help = true;
            state.help_scroll = 0;
        }
        Cmd::Quit => return quit(state),
    }
    vec![]
}

/// What a key did, for the presenter's overlay: the command, and the row or component it
/// acted on (`rollout undo deployments.apps by-kwb/web`, `stop etcd`).
fn presented(state: &mut State, cmd: Cmd) -> String {
    let what = super::keymap::command_name(cmd).replace('-', " ");
    let on_row = matches!(
        cmd,
        Cmd::Yaml
            | Cmd::Describe
            | Cmd::Logs
            | Cmd::Events
            | Cmd::History
            | Cmd::Edit
            | Cmd::Copy
            | Cmd::ToggleTaint
            | Cmd::Cordon
            | Cmd::Scale
            | Cmd::RestartWorkload
            | Cmd::Undo
            | Cmd::Delete
    );
    if state.browser_focus
        && state.browser.detail.is_none()
        && on_row
        && let Some((object, _)) = state.browser.selected_object()
    {
        return format!("{what} {}", object.label());
    }
    let on_component = matches!(cmd, Cmd::Start | Cmd::Stop | Cmd::Restart);
    match state.panes.get(state.focus) {
        Some(p) if on_component && !state.browser_focus => {
            format!("{what} {}", p.status.component)
        }
        _ => what,
    }
}

/// `Y`: the open view's text (the lines a search marks, when there is one), else the
/// selected row's name, to the clipboard.
fn copy(state: &mut State) -> Vec<Effect> {
    let text = match &state.browser.detail {
        // A search selects: the lines it marks.
        Some(d) if d.search.is_some() => d
            .lines
            .iter()
            .filter(|l| d.marked(l))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        Some(d) => d.lines.join("\n"),
        None => match state.browser.selected_object() {
            Some((o, _)) => o.name,
            None => {
                state.say("copy: nothing selected", true);
                return vec![];
            }
        },
    };
    let lines = text.lines().count();
    state.say(
        if lines > 1 {
            format!("copied {lines} lines to the clipboard")
        } else {
            format!("copied {text:?} to the clipboard")
        },
        false,
    );
    vec![Effect::Copy(text)]
}

fn move_in_browser(state: &mut State, delta: i64) -> Vec<Effect> {
    state.browser.move_selection(delta);
    vec![]
}

fn quit(state: &mut State) -> Vec<Effect> {
    if state.quitting {
        return vec![];
    }
    state.help = false;
    state.quitting = true;
    if !state.panes.is_empty() {
        state.say("stopping every component before quitting…", false);
    }
    vec![Effect::Shutdown]
}

/// Moves the bottom line of the focused log; reaching the newest line follows again.
fn scroll_by(state: &mut State, delta: i64) {
    let p = &mut state.panes[state.focus];
    if p.log.is_empty() {
        return;
    }
    let last = p.log.end_number() - 1;
    let current = p.scroll.unwrap_or(last);
    let first_bottom = (p.log.first_number() + u64::from(state.page_rows.max(1)) - 1).min(last);
    let target = current
        .saturating_add_signed(delta)
        .clamp(first_bottom, last);
    p.scroll = (target < last).then_some(target);
}

fn search(state: &mut State, needle: String) {
    let Some(p) = state.panes.get_mut(state.focus) else {
        return;
    };
    if needle.is_empty() {
        p.search = None;
        return;
    }
    let hit = p.log.find_backward(&needle, p.log.end_number());
    match hit {
        Some(n) => p.scroll = Some(n),
        None => state.say(format!("{needle:?} not found in this pane's log"), true),
    }
    state.panes[state.focus].search = Some((needle, hit));
}

/// `older`: towards the start of the log (n), else towards the end (N).
fn step_search(state: &mut State, older: bool) {
    let p = &mut state.panes[state.focus];
    let Some((needle, at)) = p.search.clone() else {
        state.say("no search: press / to search this pane's log", true);
        return;
    };
    let from = at.unwrap_or(p.log.end_number());
    let hit = if older {
        p.log.find_backward(&needle, from)
    } else {
        p.log.find_forward(&needle, from)
    };
    match hit {
        Some(n) => {
            p.scroll = Some(n);
            p.search = Some((needle, Some(n)));
        }
        None => state.say(
            format!(
                "no {} match for {needle:?}",
                if older { "older" } else { "newer" }
            ),
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::lifecycle::Phase;

    fn status(c: Component) -> ComponentStatus {
        ComponentStatus {
            component: c,
            node: 0,
            node_name: None,
            backend: "builtin".into(),
            phase: Phase::Stopped,
            pid: None,
            started_at: None,
            restarts: 0,
            crash_loop: 0,
            last_exit: None,
            restart_at: None,
            probe: None,
            message: None,
            waiting_for: vec![],
        }
    }

    fn state() -> State {
        State::new(
            Component::ALL.iter().map(|c| status(*c)).collect(),
            ClusterInfo::default(),
        )
    }

    fn key(c: char) -> Action {
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn attached_every_key_is_safe_and_component_keys_are_refused() {
        let km = Keymap::default_keymap();
        let mut s = State::new(Vec::new(), ClusterInfo::default());
        s.browser_focus = true;
        for c in "123456zsxrSXkjgGnN0ydl".chars() {
            update(&mut s, key(c), &km);
        }
        for c in [
            KeyCode::Tab,
            KeyCode::Esc,
            KeyCode::Enter,
            KeyCode::PageUp,
            KeyCode::End,
        ] {
            update(&mut s, code(c), &km);
        }
        assert!(s.browser_focus, "the browser keeps the focus");
        update(&mut s, key('s'), &km);
        let (text, error, _) = s.message.clone().unwrap();
        assert!(
            error && text.contains("does not run this cluster's components"),
            "{text}"
        );
        assert_eq!(update(&mut s, key('q'), &km), vec![Effect::Shutdown]);
    }

    fn code(c: KeyCode) -> Action {
        Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn log(s: &mut State, c: Component, text: &str, km: &Keymap) {
        update(
            s,
            Action::Supervisor(Event::Log(c.into(), LogLine::new(Source::Stdout, text))),
            km,
        );
    }

    #[test]
    fn focus_moves_and_wraps_and_jumps() {
        let km = Keymap::default_keymap();
        let mut s = state();
        update(&mut s, code(KeyCode::BackTab), &km);
        assert_eq!(s.focused().status.component, Component::Proxy);
        update(&mut s, code(KeyCode::Tab), &km);
        assert_eq!(s.focus, 0);
        update(&mut s, key('4'), &km);
        assert_eq!(s.focused().status.component, Component::Scheduler);
    }

    #[test]
    fn lifecycle_keys_act_on_the_focused_component() {
        let km = Keymap::default_keymap();
        let mut s = state();
        update(&mut s, key('2'), &km);
        assert_eq!(
            update(&mut s, key('s'), &km),
            vec![Effect::Supervisor(Command::Start(
                Component::Apiserver.into()
            ))]
        );
        assert_eq!(
            update(&mut s, key('x'), &km),
            vec![Effect::Supervisor(Command::Stop(
                Component::Apiserver.into()
            ))]
        );
        assert_eq!(
            update(&mut s, key('r'), &km),
            vec![Effect::Supervisor(Command::Restart(
                Component::Apiserver.into()
            ))]
        );
        assert_eq!(
            update(&mut s, key('S'), &km),
            vec![Effect::Supervisor(Command::StartAll)]
        );
        assert_eq!(
            update(&mut s, key('X'), &km),
            vec![Effect::Supervisor(Command::StopAll)]
        );
    }

    #[test]
    fn zoom_help_and_back() {
        let km = Keymap::default_keymap();
        let mut s = state();
        update(&mut s, key('z'), &km);
        assert!(s.zoomed);
        update(&mut s, key('?'), &km);
        assert!(s.help);
        // A key while help is open only closes help.
        assert_eq!(update(&mut s, key('s'), &km), vec![]);
        assert!(!s.help);
        update(&mut s, code(KeyCode::Esc), &km);
        assert!(!s.zoomed);
    }

    #[test]
    fn quit_shuts_down_once_and_ignores_keys_after() {
        let km = Keymap::default_keymap();
        let mut s = state();
        assert_eq!(update(&mut s, key('q'), &km), vec![Effect::Shutdown]);
        assert!(s.quitting);
        assert_eq!(update(&mut s, key('q'), &km), vec![]);
        update(&mut s, Action::ShutdownDone, &km);
        assert!(s.done);
    }

    #[test]
    fn statuses_and_lines_reach_their_panes() {
        let km = Keymap::default_keymap();
        let mut s = state();
        let mut st = status(Component::Etcd);
        st.phase = Phase::Ready;
        update(&mut s, Action::Supervisor(Event::Status(st)), &km);
        log(&mut s, Component::Etcd, "hello", &km);
        assert_eq!(s.panes[0].status.phase, Phase::Ready);
        assert_eq!(s.panes[0].log.get(0).unwrap().text, "hello");
        assert!(s.panes[1].log.is_empty());
    }

    #[test]
    fn the_kubelets_of_all_nodes_share_one_pane_and_name_their_lines() {
        let km = Keymap::default_keymap();
        let kubelet = |node: u16, name: &str| ComponentStatus {
            node,
            node_name: Some(name.into()),
            ..status(Component::Kubelet)
        };
        let mut statuses: Vec<_> = Component::ALL.iter().map(|c| status(*c)).collect();
        statuses[4] = kubelet(0, "kwb-control-plane");
        statuses.insert(5, kubelet(1, "kwb-worker"));
        let mut s = State::new(statuses, ClusterInfo::default());
        assert_eq!(s.panes.len(), 6);
        let pane = 4;
        assert_eq!(s.panes[pane].other_nodes.len(), 1);
        let mut ready = kubelet(1, "kwb-worker");
        ready.phase = Phase::Ready;
        update(&mut s, Action::Supervisor(Event::Status(ready)), &km);
        assert_eq!(s.panes[pane].other_nodes[0].phase, Phase::Ready);
        assert_eq!(s.panes[pane].status.phase, Phase::Stopped);
        let worker = crate::component::Unit {
            component: Component::Kubelet,
            node: 1,
        };
        let line = LogLine::new(Source::Stdout, "node registered");
        update(&mut s, Action::Supervisor(Event::Log(worker, line)), &km);
        assert_eq!(
            s.panes[pane].log.get(0).unwrap().text,
            "[kwb-worker] node registered"
        );
        s.focus = pane;
        assert_eq!(
            update(&mut s, key('s'), &km),
            vec![Effect::Supervisor(Command::Start(
                Component::Kubelet.into()
            ))]
        );
    }

    #[test]
    fn scrolling_stops_at_the_ends_and_follows_at_the_bottom() {
        let km = Keymap::default_keymap();
        let mut s = state();
        s.page_rows = 3;
        for i in 0..10 {
            log(&mut s, Component::Etcd, &format!("line {i}"), &km);
        }
        update(&mut s, key('k'), &km);
        assert_eq!(s.panes[0].scroll, Some(8));
        update(&mut s, code(KeyCode::PageUp), &km);
        assert_eq!(s.panes[0].scroll, Some(5));
        update(&mut s, key('g'), &km);
        assert_eq!(
            s.panes[0].scroll,
            Some(2),
            "top keeps a full page on screen"
        );
        update(&mut s, code(KeyCode::PageUp), &km);
        assert_eq!(s.panes[0].scroll, Some(2));
        for _ in 0..6 {
            update(&mut s, key('j'), &km);
        }
        assert_eq!(s.panes[0].scroll, Some(8));
        update(&mut s, key('j'), &km);
        assert_eq!(s.panes[0].scroll, None, "the bottom follows again");
    }

    #[test]
    fn search_finds_newest_then_older_then_newer() {
        let km = Keymap::default_keymap();
        let mut s = state();
        for t in ["boot", "error A", "ok", "error B", "ok"] {
            log(&mut s, Component::Etcd, t, &km);
        }
        update(&mut s, key('/'), &km);
        for c in "ERROR".chars() {
            update(&mut s, key(c), &km);
        }
        update(&mut s, code(KeyCode::Enter), &km);
        assert_eq!(s.panes[0].search, Some(("ERROR".into(), Some(3))));
        assert_eq!(s.panes[0].scroll, Some(3));
        update(&mut s, key('n'), &km);
        assert_eq!(s.panes[0].scroll, Some(1));
        update(&mut s, key('n'), &km);
        assert!(s.message.as_ref().unwrap().1, "no older match is reported");
        update(&mut s, key('N'), &km);
        assert_eq!(s.panes[0].scroll, Some(3));
        update(&mut s, code(KeyCode::Esc), &km);
        assert_eq!((s.panes[0].search.clone(), s.panes[0].scroll), (None, None));
    }

    #[test]
    fn y_copies_the_view_or_the_lines_a_search_marks() {
        let km = Keymap::default_keymap();
        let mut s = State::new(Vec::new(), ClusterInfo::default());
        s.browser_focus = true;
        let object = crate::cluster::object::test_pod();
        let mut d =
            super::super::detail::Detail::new(DetailKind::Logs, object, Default::default(), 1);
        d.lines = vec!["GET /a".into(), "error: x".into(), "Error: y".into()];
        s.browser.detail = Some(d);
        assert_eq!(
            update(&mut s, key('Y'), &km),
            vec![Effect::Copy("GET /a\nerror: x\nError: y".into())]
        );
        s.browser.detail.as_mut().unwrap().search = Some("error".into());
        assert_eq!(
            update(&mut s, key('Y'), &km),
            vec![Effect::Copy("error: x\nError: y".into())]
        );
        assert_eq!(
            s.message.as_ref().unwrap().0,
            "copied 2 lines to the clipboard"
        );
    }

    #[test]
    fn a_click_focuses_the_pane_under_it_and_the_wheel_scrolls_it() {
        use crossterm::event::{MouseButton, MouseEventKind};
        use ratatui::layout::Rect;
        let km = Keymap::default_keymap();
        let mut s = state();
        s.page_rows = 3;
        for i in 0..10 {
            log(&mut s, Component::Scheduler, &format!("line {i}"), &km);
        }
        s.areas.panes = (0..6u16).map(|i| Rect::new(40, i * 4, 40, 4)).collect();
        s.areas.browser = Some(Rect::new(0, 0, 40, 24));
        s.browser_focus = true;
        let click = MouseEventKind::Down(MouseButton::Left);
        update(&mut s, Action::Mouse(click, 50, 13), &km);
        assert_eq!((s.focus, s.browser_focus), (3, false));
        update(&mut s, Action::Mouse(MouseEventKind::ScrollUp, 50, 13), &km);
        assert_eq!(s.panes[3].scroll, Some(6), "three lines back");
        update(
            &mut s,
            Action::Mouse(MouseEventKind::ScrollDown, 50, 13),
            &km,
        );
        assert_eq!(s.panes[3].scroll, None, "the bottom follows again");
        update(&mut s, Action::Mouse(click, 5, 5), &km);
        assert!(
            !s.browser_focus,
            "no resource listed yet: the browser has nothing to focus"
        );
    }

    #[test]
    fn typing_a_search_does_not_trigger_commands() {
        let km = Keymap::default_keymap();
        let mut s = state();
        update(&mut s, key('/'), &km);
        assert_eq!(update(&mut s, key('q'), &km), vec![]);
        assert_eq!(update(&mut s, key('s'), &km), vec![]);
        assert_eq!(s.search_input.as_deref(), Some("qs"));
        update(&mut s, code(KeyCode::Esc), &km);
        assert_eq!(s.search_input, None);
        assert!(!s.quitting);
    }
}
