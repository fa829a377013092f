//! The full-screen interface. Elm-style and one-directional: terminal events, supervisor events
//! and ticks become [`state::Action`]s on one channel; [`state::update`] changes the state and
//! returns effects; [`view::view`] draws. A frame is drawn only when something changed, so an idle
//! screen costs no CPU.

pub mod bench;
pub mod browser;
pub mod browser_view;
pub mod changes;
pub mod clipboard;
pub mod detail;
pub mod editor;
pub mod editor_view;
pub mod health_view;
pub mod keymap;
pub mod logfmt;
pub mod presenter;
pub mod record;
pub mod settings;
pub mod state;
pub mod templates;
pub mod theme;
pub mod tour;
pub mod view;

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use crossterm::{execute, terminal};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::cluster::connect::{Cached, Target, connect};
use crate::host::Hosted;
use crate::supervisor::{Command, Event, Handle, Supervisor};
use keymap::Keymap;
use state::{Action, ClusterInfo, Effect, State};
use theme::Theme;

pub struct Options {
    /// Start every component at once (`kwb`), or none (`kwb --no-start`).
    pub start_all: bool,
    pub info: ClusterInfo,
    pub presentation: Presentation,
    /// `kwb tour`: the workshop step by step.
    pub tour: bool,
}

/// How the screen looks and what happens to it, for a room: theme, keymap, presenter mode,
/// recording.
#[derive(Clone, Debug, Default)]
pub struct Presentation {
    /// A bundled theme's name or a theme file.
    pub theme: Option<String>,
    /// A bundled keymap's name or a keymap file.
    pub keymap: Option<String>,
    /// The keystroke overlay, no ticking clocks.
    pub present: bool,
    /// An asciicast v2 file to record the session into.
    pub record: Option<std::path::PathBuf>,
    /// Clicks focus, the wheel scrolls (off by default: it takes the terminal's own text
    /// selection away).
    pub mouse: bool,
    /// Said in the bottom line at start (a settings file that could not be read).
    pub notes: Vec<String>,
}

/// Runs the TUI until the user quits and every component has stopped.
pub async fn run(hosted: Hosted, options: Options) -> anyhow::Result<()> {
    let Hosted {
        supervisor,
        shutdown_requests,
        lock: _lock,
    } = hosted;
    let handle = supervisor.handle();
    let mut state = State::new(handle.statuses(), options.info);
    if options.tour {
        state.tour = Some(tour::Tour::default());
    }
    let target = Target {
        kubeconfig: Some(state.info.kubeconfig.clone().into()),
        context: None,
    };
    let local = Local {
        supervisor: Some(supervisor),
        handle,
        shutdown_requests,
        start_all: options.start_all,
    };
    with_terminal(
        &mut state,
        target,
        Some(local),
        Vec::new(),
        &options.presentation,
    )
    .await
}

/// `kwb --attach`: the same TUI on any cluster, the browser full width, no local components.
/// Starts on the pods of `namespace` (else the context's, else default).
pub async fn run_attached(
    target: Target,
    namespace: Option<String>,
    readonly: bool,
    presentation: Presentation,
) -> anyhow::Result<()> {
    let connection = connect(&target).await.map_err(|e| anyhow::anyhow!(e))?;
    let version = match connection.client.apiserver_version().await {
        Ok(v) => v.git_version,
        Err(e) => {
            tracing::warn!("server version: {e}");
            "unreachable".into()
        }
    };
    let namespace = namespace
        .or(connection.namespace.clone())
        .unwrap_or_else(|| "default".into());
    let info = ClusterInfo {
        name: connection.cluster.clone(),
        apiserver_url: connection.server.clone(),
        attached: Some(state::Attached {
            context: connection.context.clone(),
            user: connection.user.clone(),
            server_version: version,
        }),
        readonly,
        ..ClusterInfo::default()
    };
    let mut state = State::new(Vec::new(), info);
    state.browser_focus = true;
    let first = state.browser.command(&format!("po {namespace}"));
    let effects = state::browser_done(&mut state, first);
    with_terminal(&mut state, target, None, effects, &presentation).await
}

/// What the local mode has and attach mode has not: the supervisor of the components.
struct Local {
    supervisor: Option<Supervisor>,
    handle: Handle,
    shutdown_requests: mpsc::UnboundedReceiver<()>,
    start_all: bool,
}

async fn with_terminal(
    state: &mut State,
    target: Target,
    local: Option<Local>,
    first: Vec<Effect>,
    presentation: &Presentation,
) -> anyhow::Result<()> {
    let (keymap, keymap_error) = Keymap::load(presentation.keymap.as_deref());
    let (theme, theme_error) = Theme::load(presentation.theme.as_deref());
    let theme = theme.with_no_color(std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()));
    let notes = presentation.notes.iter().cloned();
    for error in [theme_error, keymap_error]
        .into_iter()
        .flatten()
        .chain(notes)
    {
        tracing::warn!("{error}");
        state.say(error, true);
    }
    if presentation.present {
        state.present = Some(presenter::Presenter::default());
    }
    let recorder = match &presentation.record {
        Some(path) => {
            let (width, height) = terminal::size().unwrap_or((80, 24));
            Some(
                record::Recorder::create(path, width, height)
                    .with_context(|| format!("cannot write the recording {}", path.display()))?,
            )
        }
        None => None,
    };
    let recording: record::Shared = std::sync::Arc::new(std::sync::Mutex::new(recorder));
    let mut terminal = enter_terminal(recording.clone())?;
    if presentation.mouse {
        execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
    }
    let mut looks = Looks {
        theme,
        keymap,
        recording: recording.clone(),
        mouse: presentation.mouse,
    };
    let result = event_loop(&mut terminal, state, &mut looks, target, local, first).await;
    leave_terminal();
    record::with(&recording, record::Recorder::flush);
    result
}

type Term = Terminal<CrosstermBackend<record::Screen>>;

/// What the views need besides the state (the theme changes with F2), and the recording.
struct Looks {
    theme: Theme,
    keymap: Keymap,
    recording: record::Shared,
    /// `--mouse`: captured again after the external editor had the terminal.
    mouse: bool,
}

async fn event_loop(
    terminal: &mut Term,
    state: &mut State,
    looks: &mut Looks,
    target: Target,
    local: Option<Local>,
    first: Vec<Effect>,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    let suspend = spawn_terminal_events(tx.clone());
    let mut clipboard = clipboard::Clipboard::open();
    let (mut supervisor, handle) = match local {
        Some(local) => {
            spawn_quit_requests(Some(local.shutdown_requests), tx.clone())?;
            spawn_supervisor_events(local.handle.subscribe(), tx.clone());
            if local.start_all {
                local.handle.send(Command::StartAll);
            }
            (local.supervisor, Some(local.handle))
        }
        None => {
            spawn_quit_requests(None, tx.clone())?;
            (None, None)
        }
    };
    let cached = Cached::new(target);
    if supervisor.is_none() {
        spawn_health_looks(cached.clone(), tx.clone());
    }
    if state.tour.is_some() {
        spawn_tour_looks(cached.clone(), tx.clone());
    }
    let mut cluster = ClusterLink::new(cached, tx.clone());
    for effect in first {
        if let Effect::Cluster(want) = effect {
            cluster.want(*want);
        }
    }

    draw(terminal, state, looks)?;
    tracing::info!("first frame drawn");

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        // Ticks only matter while something on screen moves with the clock.
        let action = tokio::select! {
            a = rx.recv() => match a {
                Some(a) => a,
                None => break,
            },
            _ = tick.tick(), if state.needs_tick() => Action::Tick,
        };
        let mut actions = vec![action];
        // Take everything already queued before drawing once: a burst of log lines costs one frame.
        while actions.len() < 10_000 {
            match rx.try_recv() {
                Ok(a) => actions.push(a),
                Err(_) => break,
            }
        }
        for action in actions {
            if matches!(action, Action::Resize)
                && let Ok((width, height)) = terminal::size()
            {
                record::with(&looks.recording, |r| r.resize(width, height));
            }
            for effect in state::update(state, action, &looks.keymap) {
                match effect {
                    Effect::Supervisor(cmd) => {
                        if let Some(h) = &handle {
                            h.send(cmd);
                        }
                    }
                    Effect::Cluster(want) => cluster.want(*want),
                    Effect::CloseDetail => cluster.close_detail(),
                    Effect::Change(change) => cluster.change(*change),
                    Effect::PlanUndo(object, to) => cluster.plan_undo(*object, to),
                    Effect::FetchForEdit(object) => cluster.fetch_for_edit(*object),
                    Effect::ReadFile(path) => read_file(path, tx.clone()),
                    Effect::DryRun(generation, planned) => cluster.dry_run(generation, planned),
                    Effect::Apply(generation, planned) => cluster.apply(generation, planned),
                    Effect::Copy(text) => clipboard.copy(&text),
                    Effect::NextTheme => {
                        looks.theme = looks.theme.next();
                        state.say(format!("theme {}", looks.theme.name), false);
                    }
                    Effect::ExternalEditor(text) => {
                        let edited = external_editor(terminal, &suspend, &text, looks.mouse).await;
                        let _ = tx.send(Action::EditorReplaced(edited));
                    }
                    Effect::Shutdown => {
                        let tx = tx.clone();
                        let supervisor = supervisor.take();
                        tokio::spawn(async move {
                            if let Some(s) = supervisor {
                                s.shutdown().await;
                            }
                            let _ = tx.send(Action::ShutdownDone);
                        });
                    }
                }
            }
        }
        if state.done {
            break;
        }
        draw(terminal, state, looks)?;
    }
    Ok(())
}

/// One frame, inside a synchronized update (DEC mode 2026): terminals that know it show the
/// frame at once — no flicker when a resize clears the screen first — and the others ignore it.
fn draw(terminal: &mut Term, state: &mut State, looks: &Looks) -> anyhow::Result<()> {
    crossterm::queue!(terminal.backend_mut(), terminal::BeginSynchronizedUpdate)?;
    terminal.draw(|f| view::view(state, &looks.theme, &looks.keymap, f))?;
    execute!(terminal.backend_mut(), terminal::EndSynchronizedUpdate)?;
    Ok(())
}

/// The browser's line to the cluster, through the admin kubeconfig: discovery, and one watch at
/// a time (a new one replaces the last). Answers come back as actions.
struct ClusterLink {
    cluster: Cached,
    tx: mpsc::UnboundedSender<Action>,
    watch: Option<tokio::task::JoinHandle<()>>,
    /// The open detail's fetch or log follow.
    detail: Option<tokio::task::JoinHandle<()>>,
}

impl ClusterLink {
    fn new(cluster: Cached, tx: mpsc::UnboundedSender<Action>) -> ClusterLink {
        ClusterLink {
            cluster,
            tx,
            watch: None,
            detail: None,
        }
    }

    fn close_detail(&mut self) {
        if let Some(task) = self.detail.take() {
            task.abort();
        }
    }

    /// Sends a change; its answer comes back as an action.
    fn change(&self, change: crate::cluster::actions::Change) {
        let (cluster, tx) = (self.cluster.clone(), self.tx.clone());
        tokio::spawn(async move {
            let progress_tx = tx.clone();
            let progress = move |text: String| {
                let _ = progress_tx.send(Action::Progress(text));
            };
            let result = match cluster.client().await {
                Ok(client) => change.perform_reporting(&client, &progress).await,
                Err(e) => Err(e),
            };
            tracing::info!(change = change.summary(), ?result, "change sent");
            let _ = tx.send(Action::Changed(Box::new(change), result));
        });
    }

    /// Finds out what undoing the Deployment would do, for the question before it.
    fn plan_undo(&self, object: crate::cluster::object::ObjectRef, to: Option<i64>) {
        let (cluster, tx) = (self.cluster.clone(), self.tx.clone());
        tokio::spawn(async move {
            let planned = match cluster.client().await {
                Ok(client) => crate::cluster::actions::undo_question(&client, object, to).await,
                Err(e) => Err(e),
            };
            let _ = tx.send(Action::UndoPlanned(planned.map(Box::new)));
        });
    }

    /// Reads the object for the editor.
    fn fetch_for_edit(&self, object: crate::cluster::object::ObjectRef) {
        let (cluster, tx) = (self.cluster.clone(), self.tx.clone());
        tokio::spawn(async move {
            let read = match cluster.client().await {
                Ok(client) => crate::cluster::object::get(&client, &object).await,
                Err(e) => Err(e),
            };
            let _ = tx.send(Action::EditorOpen(read.map(|v| Box::new((object, v)))));
        });
    }

    /// The editor's documents with a server dry run, next to the live objects.
    fn dry_run(&self, generation: u64, planned: Vec<crate::cluster::apply::Planned>) {
        use crate::cluster::apply;
        let (cluster, tx) = (self.cluster.clone(), self.tx.clone());
        tokio::spawn(async move {
            let reviewed = match cluster.client().await {
                Ok(client) => apply::dry_run(&client, &planned).await,
                Err(e) => planned
                    .into_iter()
                    .map(|p| apply::Reviewed {
                        planned: p,
                        live: None,
                        outcome: Err(apply::Failure::unanswered(e.clone())),
                    })
                    .collect(),
            };
            let _ = tx.send(Action::EditorReviewed(generation, reviewed));
        });
    }

    /// Sends the editor's documents; each answer goes to the log file too.
    fn apply(&self, generation: u64, planned: Vec<crate::cluster::apply::Planned>) {
        use crate::cluster::apply;
        let (cluster, tx) = (self.cluster.clone(), self.tx.clone());
        tokio::spawn(async move {
            let results = match cluster.client().await {
                Ok(client) => apply::send(&client, &planned).await,
                Err(e) => planned
                    .iter()
                    .map(|_| Err(apply::Failure::unanswered(e.clone())))
                    .collect(),
            };
            for (p, r) in planned.iter().zip(&results) {
                tracing::info!(sent = p.describe(), answer = ?r.as_ref().map(|_| "taken"), "editor apply");
            }
            let _ = tx.send(Action::EditorSent(
                generation,
                planned.into_iter().zip(results).collect(),
            ));
        });
    }

    fn want(&mut self, want: browser::Want) {
        let (cluster, tx) = (self.cluster.clone(), self.tx.clone());
        match want {
            browser::Want::Catalog => {
                tokio::spawn(async move {
                    let catalog = match cluster.client().await {
                        Ok(c) => crate::cluster::resources::Catalog::discover(&c)
                            .await
                            .map_err(|e| format!("{e} (is the apiserver running?)")),
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(Action::Catalog(catalog));
                });
            }
            browser::Want::Watch {
                generation,
                resource,
                namespace,
                query,
            } => {
                if let Some(old) = self.watch.take() {
                    old.abort();
                }
                self.watch = Some(tokio::spawn(async move {
                    let client = match cluster.client().await {
                        Ok(c) => c,
                        Err(e) => {
                            let update = crate::cluster::table::Update::Error(e);
                            let _ = tx.send(Action::Table(generation, update));
                            return;
                        }
                    };
                    crate::cluster::table::watch(client, resource, namespace, query, |u| {
                        tx.send(Action::Table(generation, u)).is_ok()
                    })
                    .await;
                }));
            }
            browser::Want::Contexts => {
                tokio::spawn(async move {
                    let target = cluster.target().await;
                    let names = crate::cluster::connect::contexts(&target).map(|(n, _)| n);
                    let _ = tx.send(Action::Contexts(names));
                });
            }
            browser::Want::Context(name) => {
                // The list's watch and the detail belong to the old cluster.
                for task in [self.watch.take(), self.detail.take()]
                    .into_iter()
                    .flatten()
                {
                    task.abort();
                }
                tokio::spawn(async move {
                    let switched = match cluster.switch(&name).await {
                        Ok(c) => {
                            let server_version = match c.client.apiserver_version().await {
                                Ok(v) => v.git_version,
                                Err(e) => format!("unreachable ({e})"),
                            };
                            Ok(Box::new(state::Switched {
                                cluster: c.cluster,
                                server: c.server,
                                namespace: c.namespace,
                                attached: state::Attached {
                                    context: c.context,
                                    user: c.user,
                                    server_version,
                                },
                            }))
                        }
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(Action::Switched(switched));
                });
            }
            browser::Want::PodSelector { generation, object } => {
                tokio::spawn(async move {
                    let selector = match cluster.client().await {
                        Ok(c) => crate::cluster::object::get(&c, &object)
                            .await
                            .map(|o| crate::cluster::object::pod_selector(&o)),
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(Action::PodSelector(generation, object.namespace, selector));
                });
            }
            browser::Want::Detail {
                generation,
                kind,
                object,
                log,
            } => {
                if let Some(old) = self.detail.take() {
                    old.abort();
                }
                self.detail = Some(tokio::spawn(async move {
                    let result = detail(&cluster, kind, &object, &log, generation, &tx).await;
                    if let Err(e) = result {
                        let _ = tx.send(Action::DetailText(generation, Err(e)));
                    }
                }));
            }
        }
    }
}

/// Attach mode: looks at the control plane every few seconds for the panel in the panes'
/// place; a lost connection shows there as errors and is retried with the next look.
fn spawn_health_looks(cluster: Cached, tx: mpsc::UnboundedSender<Action>) {
    use crate::cluster::health;
    tokio::spawn(async move {
        loop {
            let looked = match cluster.client().await {
                Ok(c) => health::probe_within(&c, health::EVERY * 2).await,
                Err(e) => health::unreachable(&e),
            };
            if tx.send(Action::Health(Box::new(looked))).is_err() {
                return;
            }
            tokio::time::sleep(health::EVERY).await;
        }
    });
}

/// `kwb tour`: looks at the workshop's objects every second, for the tour to see a step done.
fn spawn_tour_looks(cluster: Cached, tx: mpsc::UnboundedSender<Action>) {
    tokio::spawn(async move {
        loop {
            if let Ok(client) = cluster.client().await {
                let observed = look_for_tour(&client).await;
                if tx.send(Action::TourObserved(Box::new(observed))).is_err() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn look_for_tour(client: &kube::Client) -> tour::Observed {
    let get = |path: &'static str| async move {
        let request = http::Request::get(path).body(Vec::new()).ok()?;
        client.request::<serde_json::Value>(request).await.ok()
    };
    let deployment = get("/apis/apps/v1/namespaces/default/deployments/web").await;
    let pods = get("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb").await;
    let service = get("/api/v1/namespaces/default/services/web").await;
    let nodes = get("/api/v1/nodes").await;
    let items = |list: &Option<serde_json::Value>| {
        list.as_ref()
            .and_then(|l| l["items"].as_array().cloned())
            .unwrap_or_default()
    };
    tour::Observed::from_objects(
        deployment.as_ref(),
        &items(&pods),
        service.is_some(),
        &items(&nodes),
    )
}

/// How often the events and history views ask again (they change while open).
const EVENTS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Fetches a detail view's text (events: again every few seconds), or follows the logs of a
/// pod or of a workload's pods line by line.
async fn detail(
    cluster: &Cached,
    kind: browser::DetailKind,
    object: &crate::cluster::object::ObjectRef,
    log: &crate::cluster::logs::LogOptions,
    generation: u64,
    tx: &mpsc::UnboundedSender<Action>,
) -> Result<(), String> {
    use crate::cluster::logs;
    let client = cluster.client().await?;
    if kind == browser::DetailKind::Logs {
        let pods = logs::pods_of(&client, object).await?;
        let per_pod = !object.resource.is("", &["pods"]);
        let plan = logs::plan(pods, log.container.as_deref(), per_pod);
        let note = plan.note.clone();
        let _ = tx.send(Action::LogPlan(generation, plan.containers.clone(), note));
        logs::stream(&client, &object.namespace, &plan, log, |line| {
            tx.send(Action::DetailLine(generation, line)).is_ok()
        })
        .await;
        return Ok(());
    }
    loop {
        let text = detail_text(&client, kind, object).await?;
        if tx.send(Action::DetailText(generation, Ok(text))).is_err() {
            return Ok(());
        }
        if !matches!(
            kind,
            browser::DetailKind::Events | browser::DetailKind::History
        ) {
            return Ok(());
        }
        // Events and history change while they are open.
        tokio::time::sleep(EVENTS_EVERY).await;
    }
}

/// The text of a YAML, describe, events or history view, as the cluster has it now.
async fn detail_text(
    client: &kube::Client,
    kind: browser::DetailKind,
    object: &crate::cluster::object::ObjectRef,
) -> Result<String, String> {
    use crate::cluster::object;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Ok(match kind {
        browser::DetailKind::History => {
            let (deployment, replicasets) =
                crate::cluster::actions::with_history(client, object).await?;
            crate::cluster::rollout::history_table(&deployment, &replicasets, now)
        }
        browser::DetailKind::RevisionDiff(to) => {
            let (deployment, replicasets) =
                crate::cluster::actions::with_history(client, object).await?;
            crate::cluster::rollout::revision_diff(&deployment, &replicasets, to)?
        }
        browser::DetailKind::Events => {
            let value = object::get(client, object).await?;
            let events = object::events(client, &value).await;
            if events.is_empty() {
                "No events.".to_string()
            } else {
                object::events_table(&events, now)
            }
        }
        browser::DetailKind::Yaml => object::yaml(&object::get(client, object).await?),
        browser::DetailKind::Describe => {
            let value = object::get(client, object).await?;
            let events = object::events(client, &value).await;
            object::describe(&value, &events)
        }
        browser::DetailKind::Logs => return Err("logs are followed, not fetched".into()),
    })
}

/// `:apply FILE`: read off the event loop.
fn read_file(path: String, tx: mpsc::UnboundedSender<Action>) {
    tokio::spawn(async move {
        let read = tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| format!("cannot read it: {e}"));
        let _ = tx.send(Action::EditorFile(path, read));
    });
}

/// Asks the terminal reader to let go of the terminal: it answers on the first sender once
/// it has, and reads again when the second is answered.
type Suspend = mpsc::UnboundedSender<(oneshot::Sender<()>, oneshot::Receiver<()>)>;

/// Reads the terminal's events into actions until the TUI ends; lets go of the terminal
/// while another program (the external editor) has it, so no keystroke goes astray.
fn spawn_terminal_events(tx: mpsc::UnboundedSender<Action>) -> Suspend {
    let (suspend, mut suspended): (Suspend, _) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut events = EventStream::new();
        loop {
            let ev = tokio::select! {
                ev = events.next() => ev,
                request = suspended.recv() => {
                    let Some((released, resume)) = request else { break };
                    // Dropping the stream stops crossterm's reader thread.
                    drop(events);
                    let _ = released.send(());
                    let _ = resume.await;
                    events = EventStream::new();
                    continue;
                }
            };
            let Some(ev) = ev else { break };
            let action = match ev {
                Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Action::Key(k),
                Ok(TermEvent::Resize(..)) => Action::Resize,
                Ok(TermEvent::Paste(text)) => Action::Paste(text),
                Ok(TermEvent::Mouse(m)) => Action::Mouse(m.kind, m.column, m.row),
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("terminal input failed: {e}");
                    break;
                }
            };
            if tx.send(action).is_err() {
                break;
            }
        }
    });
    suspend
}

/// `kwb down`, SIGTERM and SIGHUP (the terminal closed) quit as `q` does: everything stops.
fn spawn_quit_requests(
    shutdown_requests: Option<mpsc::UnboundedReceiver<()>>,
    tx: mpsc::UnboundedSender<Action>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        let requested = async {
            match shutdown_requests {
                Some(mut r) => {
                    r.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = requested => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Action::QuitRequested);
    });
    Ok(())
}

fn spawn_supervisor_events(
    mut events: broadcast::Receiver<Event>,
    tx: mpsc::UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        loop {
            let action = match events.recv().await {
                Ok(e) => Action::Supervisor(e),
                Err(broadcast::error::RecvError::Lagged(n)) => Action::Lagged(n),
                Err(broadcast::error::RecvError::Closed) => break,
            };
            if tx.send(action).is_err() {
                break;
            }
        }
    });
}

/// Runs $VISUAL, else $EDITOR, else vi on the text in a private temporary file, with the
/// terminal handed over; the text as the editor left it.
async fn external_editor(
    terminal: &mut Term,
    suspend: &Suspend,
    text: &str,
    mouse: bool,
) -> Result<String, String> {
    let (released_tx, released) = oneshot::channel();
    let (resume, resume_rx) = oneshot::channel();
    if suspend.send((released_tx, resume_rx)).is_err() {
        return Err("the terminal reader has stopped".into());
    }
    let _ = released.await;
    leave_terminal();
    let edited = edit_in_file(text).await;
    let entered = reenter_terminal(terminal, mouse);
    let _ = resume.send(());
    entered.map_err(|e| e.to_string())?;
    edited
}

async fn edit_in_file(text: &str) -> Result<String, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    let dir = tempfile_dir();
    let path = dir.join(format!("kwb-edit-{}.yaml", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // Through the shell, so EDITOR may carry arguments (`code --wait`).
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .await;
    let read = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    match status {
        Ok(s) if s.success() => read.map_err(|e| e.to_string()),
        Ok(s) => Err(format!("{editor} ended with {s}")),
        Err(e) => Err(format!("cannot run {editor}: {e}")),
    }
}

/// Where the editor's temporary file goes: $XDG_RUNTIME_DIR (private to the user) when
/// there is one, else the system's temporary directory (the file is 0600 either way).
fn tempfile_dir() -> std::path::PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// Takes the terminal back after another program had it, and draws everything again.
fn reenter_terminal(terminal: &mut Term, mouse: bool) -> anyhow::Result<()> {
    if mouse {
        execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
    }
    terminal::enable_raw_mode()?;
    execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        crossterm::event::EnableBracketedPaste,
        crossterm::cursor::Hide
    )?;
    terminal.clear()?;
    Ok(())
}

fn enter_terminal(recorder: record::Shared) -> anyhow::Result<Term> {
    terminal::enable_raw_mode()
        .context("cannot switch the terminal to raw mode: is this a terminal?")?;
    execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        crossterm::event::EnableBracketedPaste,
        crossterm::cursor::Hide
    )?;
    // Put the terminal back if kwb panics, so the shell stays usable.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave_terminal();
        default_hook(info);
    }));
    Ok(Terminal::new(CrosstermBackend::new(record::Screen::new(
        recorder,
    )))?)
}

fn leave_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::event::DisableMouseCapture,
        terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = std::io::stdout().flush();
}
