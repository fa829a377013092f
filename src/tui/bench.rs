//! `kwb bench tui`: issue 8's figures for the browser on a large namespace, measured on a
//! fresh etcd + apiserver of its own (a temporary data dir, free ports, loopback only):
//! - the time from opening `:po` on a namespace of `--pods` pods to the full list on screen;
//! - the frame render time of the whole screen with that list (mean, p99), moving the
//!   selection between frames as a user scrolling does;
//! - how long a change (a pod deleted) takes to leave the table;
//! - key-to-frame time while pods change as fast as the apiserver takes patches;
//! - this process's RSS with the list loaded (the TUI holds the same state) and its CPU
//!   while idle with the watch open;
//! - the YAML editor on a 2000-line object: key-to-frame time while typing, and ctrl-s to
//!   the dry run's diff on screen, and the apply, against the apiserver.
//!
//! The cluster is stopped and its data dir removed at the end, also when a step fails.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use tokio::sync::mpsc;

use super::keymap::Keymap;
use super::state::{self, Action, Attached, ClusterInfo, State};
use super::theme::Theme;
use crate::cluster::resources::Catalog;
use crate::kubelet::bench::kwb;
use crate::procstat::{cpu_seconds, memory_kb};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Pods in the namespace the browser opens.
    #[arg(long, default_value_t = 10_000)]
    pub pods: usize,
    /// Frames rendered for the render-time figure.
    #[arg(long, default_value_t = 300)]
    pub frames: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("kwb-bench-tui-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot make {} for the bench cluster", dir.display()))?;
    let config = dir.join("kwb.yaml");
    std::fs::write(
        &config,
        format!("name: kwb-bench\ndataDir: {}\n", dir.join("data").display()),
    )?;
    let result = measure(&args, &config, &dir.join("data")).await;
    if let Err(e) = kwb(&config, &["down"]) {
        eprintln!("stopping the bench cluster: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

const NAMESPACE: &str = "bench";

async fn measure(args: &Args, config: &Path, data: &Path) -> anyhow::Result<()> {
    kwb(config, &["up", "--detach", "--no-start"])?;
    kwb(config, &["start", "etcd"])?;
    kwb(config, &["start", "apiserver"])?;
    let client = crate::agent::client(&data.join("kubeconfig/admin.kubeconfig")).await?;
    create_pods(&client, args.pods).await?;

    let me = u64::from(std::process::id());
    let rss_before = memory_kb(me, "status", "VmRSS:").unwrap_or(0);

    // The browser as the TUI runs it: `:po bench`, the watch's updates as actions.
    let keymap = Keymap::default_keymap();
    let info = ClusterInfo {
        name: "kwb-bench".into(),
        attached: Some(Attached {
            context: "kwb-bench".into(),
            user: "admin".into(),
            server_version: "builtin".into(),
        }),
        ..ClusterInfo::default()
    };
    let mut state = State::new(Vec::new(), info);
    state.browser_focus = true;
    state::update(
        &mut state,
        Action::Catalog(Ok(Catalog::discover(&client).await?)),
        &keymap,
    );
    let started = Instant::now();
    let (generation, resource, namespace, query) = {
        let done = state.browser.command(&format!("po {NAMESPACE}"));
        match done.0.into_iter().next() {
            Some(super::browser::Want::Watch {
                generation,
                resource,
                namespace,
                query,
            }) => (generation, resource, namespace, query),
            other => anyhow::bail!("`:po {NAMESPACE}` asked for {other:?}"),
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let watch = tokio::spawn(crate::cluster::table::watch(
        client.clone(),
        resource,
        namespace,
        query,
        move |u| tx.send(Action::Table(generation, u)).is_ok(),
    ));
    let theme = Theme::dark();
    let mut terminal = Terminal::new(TestBackend::new(200, 60))?;
    while !state.browser.table.loaded {
        let action = rx.recv().await.context("the watch ended")?;
        state::update(&mut state, action, &keymap);
    }
    terminal.draw(|f| super::view::view(&mut state, &theme, &keymap, f))?;
    println!(
        "first full list: {} pods on screen {:.3} s after :po",
        state.browser.table.rows().len(),
        started.elapsed().as_secs_f64()
    );

    let mut frames = Vec::with_capacity(args.frames);
    for i in 0..args.frames {
        state
            .browser
            .move_selection(if i % 100 < 50 { 37 } else { -37 });
        let t = Instant::now();
        terminal.draw(|f| super::view::view(&mut state, &theme, &keymap, f))?;
        frames.push(t.elapsed());
    }
    let (mean, p99) = mean_p99(&mut frames);
    println!(
        "frame render (200x60, {} rows listed): mean {:.2} ms, p99 {:.2} ms over {} frames",
        state.browser.table.rows().len(),
        mean * 1000.0,
        p99 * 1000.0,
        frames.len()
    );

    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let gone = "bench-00042";
    let t = Instant::now();
    pods.delete(gone, &DeleteParams::default().grace_period(0))
        .await?;
    while state.browser.table.rows().iter().any(|r| r.name == gone) {
        let action = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .context("the deletion did not reach the table within 10 s")?
            .context("the watch ended")?;
        state::update(&mut state, action, &keymap);
    }
    println!(
        "a deleted pod left the table {:.1} ms after the delete was sent",
        t.elapsed().as_secs_f64() * 1000.0
    );

    updates_while_typing(&client, &mut state, &mut rx, &mut terminal, &keymap, &theme).await?;

    let rss = memory_kb(me, "status", "VmRSS:").unwrap_or(0);
    let before = cpu_seconds(me);
    let window = Duration::from_secs(5);
    let idle = tokio::time::sleep(window);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            _ = &mut idle => break,
            Some(action) = rx.recv() => { state::update(&mut state, action, &keymap); }
        }
    }
    let cpu = (cpu_seconds(me) - before).max(0.0) / window.as_secs_f64() * 100.0;
    println!(
        "this process: RSS {:.1} MB with the list loaded ({:.1} MB before :po, after creating the pods); CPU idle with the watch open {cpu:.2} % of a core",
        rss as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    watch.abort();
    editor_figures(&client, args.frames, &theme).await
}

/// Key-to-frame time in the editor on a ConfigMap of 2000 keys (2000 lines of YAML), then
/// the time from ctrl-s to the diff on screen (dry run of the apiserver, diff, one frame),
/// then the apply.
async fn editor_figures(client: &kube::Client, frames: usize, theme: &Theme) -> anyhow::Result<()> {
    use super::editor::{Editor, Wish};
    use crate::cluster::{apply, object};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let data: serde_json::Map<String, serde_json::Value> = (0..2000)
        .map(|i| (format!("key-{i:04}"), json!(format!("value {i}"))))
        .collect();
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "big", "namespace": NAMESPACE}, "data": data});
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), NAMESPACE);
    configmaps
        .create(&PostParams::default(), &serde_json::from_value(body)?)
        .await?;
    let catalog = Catalog::discover(client).await?;
    let target = editor_target(&catalog)?;
    let live = object::get(client, &target)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut editor = Editor::edit(target, &live);
    let lines = editor.area.lines().len();
    let mut terminal = Terminal::new(TestBackend::new(200, 60))?;
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    let mut typing = Vec::with_capacity(frames);
    for i in 0..frames {
        let t = Instant::now();
        editor.key(key(if i % 40 == 39 { '\n' } else { 'x' }), Some(&catalog));
        terminal.draw(|f| super::editor_view::draw(&mut editor, theme, f, f.area()))?;
        typing.push(t.elapsed());
    }
    let (mean, p99) = mean_p99(&mut typing);
    println!(
        "editor: {lines} lines; key to frame while typing mean {:.2} ms, p99 {:.2} ms over {frames} keys",
        mean * 1000.0,
        p99 * 1000.0
    );
    // One value changed, then ctrl-s ten times: check, dry run, diff, frame.
    let mut editor = Editor::edit(editor_target(&catalog)?, &live);
    editor
        .area
        .move_cursor(ratatui_textarea::CursorMove::Jump(10, 200));
    editor.key(key('9'), Some(&catalog));
    let mut reviews = Vec::new();
    let mut planned = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        let Some(Wish::DryRun(generation, p)) = editor.key(ctrl_s, Some(&catalog)).pop() else {
            anyhow::bail!("ctrl-s asked for no dry run: {:?}", editor.note);
        };
        let reviewed = apply::dry_run(client, &p).await;
        editor.reviewed(generation, reviewed);
        terminal.draw(|f| super::editor_view::draw(&mut editor, theme, f, f.area()))?;
        reviews.push(t.elapsed());
        planned = p;
        // Any key but y goes back to the text.
        editor.key(
            KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
            Some(&catalog),
        );
    }
    let (mean, p99) = mean_p99(&mut reviews);
    let t = Instant::now();
    let sent = apply::send(client, &planned).await;
    let applied = t.elapsed();
    anyhow::ensure!(
        sent.iter().all(Result::is_ok),
        "the apply was refused: {sent:?}"
    );
    println!(
        "editor: ctrl-s to the dry run's diff on screen mean {:.1} ms, p99 {:.1} ms; the apply {:.1} ms",
        mean * 1000.0,
        p99 * 1000.0,
        applied.as_secs_f64() * 1000.0
    );
    Ok(())
}

/// The bench's big ConfigMap.
fn editor_target(catalog: &Catalog) -> anyhow::Result<crate::cluster::object::ObjectRef> {
    Ok(crate::cluster::object::ObjectRef {
        resource: catalog
            .resolve("cm")
            .cloned()
            .context("the apiserver serves no configmaps")?,
        namespace: NAMESPACE.into(),
        name: "big".into(),
    })
}

/// Mean and p99 of `samples`, in seconds.
fn mean_p99(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let n = samples.len().max(1);
    let mean = samples.iter().sum::<Duration>().as_secs_f64() / n as f64;
    let p99 = samples
        .get((samples.len() * 99 / 100).min(samples.len().saturating_sub(1)))
        .map_or(0.0, Duration::as_secs_f64);
    (mean, p99)
}

/// Pods change as fast as 16 writers can patch them while a "user" presses a key every
/// 10 ms: each key is handled as the event loop does — everything queued applied, then one
/// frame — and the time from key to frame is what typing feels like under updates.
async fn updates_while_typing(
    client: &kube::Client,
    state: &mut State,
    rx: &mut mpsc::UnboundedReceiver<Action>,
    terminal: &mut Terminal<TestBackend>,
    keymap: &Keymap,
    theme: &Theme,
) -> anyhow::Result<()> {
    use kube::api::{Patch, PatchParams};
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let count = state.browser.table.rows().len().max(1);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (pods, stop) = (pods.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = w;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let name = format!("bench-{:05}", (i * 7919) % count);
                    let patch = json!({"metadata": {"labels": {"touched": i.to_string()}}});
                    let _ = pods
                        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await;
                    i += 16;
                }
            })
        })
        .collect();
    let window = Duration::from_secs(5);
    let started = Instant::now();
    let (mut latencies, mut applied) = (Vec::new(), 0usize);
    while started.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let key = Instant::now();
        while let Ok(action) = rx.try_recv() {
            state::update(state, action, keymap);
            applied += 1;
        }
        state.browser.move_selection(1);
        terminal.draw(|f| super::view::view(state, theme, keymap, f))?;
        latencies.push(key.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }
    let (mean, p99) = mean_p99(&mut latencies);
    println!(
        "typing under updates: {:.0} pod changes/s reached the table; key to frame mean {:.2} ms, p99 {:.2} ms over {} keys",
        applied as f64 / started.elapsed().as_secs_f64(),
        mean * 1000.0,
        p99 * 1000.0,
        latencies.len()
    );
    Ok(())
}

/// `count` pods in the bench namespace, 32 requests in flight (Pending: nothing runs them).
async fn create_pods(client: &kube::Client, count: usize) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}}))?;
    namespaces.create(&PostParams::default(), &ns).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let t = Instant::now();
    let results: Vec<Result<Pod, kube::Error>> = futures::stream::iter(0..count)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let pod: Pod = serde_json::from_value(json!({
                    "metadata": {"name": format!("bench-{i:05}"), "labels": {"app": "bench"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]}
                }))
                .map_err(kube::Error::SerdeError)?;
                pods.create(&PostParams::default(), &pod).await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        anyhow::bail!("creating the bench pods: {e}");
    }
    println!(
        "setup: {count} pods created in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
