//! `kwb`: CLI dispatch. Parse flags, set up logging, hand over to the TUI, the headless
//! commands or a builtin component. Errors are printed once, with their chain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use kwb::component::Component;
use kwb::config::{ClusterConfig, DEFAULT_CONFIG_YAML};
use kwb::headless::Verb;
use kwb::layout::DataDir;
use kwb::local::{DataDirLock, LocalCluster};
use kwb::supervisor;
use kwb::{headless, host, tui};

#[derive(Parser)]
#[command(
    name = "kwb",
    version,
    about = "A terminal workbench for Kubernetes, with a builtin local control plane",
    long_about = "Without a subcommand, kwb opens the TUI and starts the local control plane: \
                  etcd, apiserver, controller-manager, scheduler, kubelet and proxy, one pane each."
)]
struct Cli {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Open the TUI with every component stopped, to start them one by one.
    #[arg(long)]
    no_start: bool,
    /// Open the TUI on an existing cluster instead: the kubeconfig given, else KUBECONFIG's
    /// files, else ~/.kube/config.
    #[arg(long, value_name = "KUBECONFIG")]
    attach: Option<Option<PathBuf>>,
    /// With --attach: the kubeconfig context (default: its current context).
    #[arg(long, requires = "attach")]
    context: Option<String>,
    /// With --attach: the namespace to start in (default: the context's, else default).
    #[arg(short = 'n', long, requires = "attach")]
    namespace: Option<String>,
    /// The TUI changes nothing in the cluster: taint, cordon, scale, restart and delete keys
    /// are refused (and say so).
    #[arg(long)]
    readonly: bool,
    /// Colours: a bundled theme (dark, light, high-contrast, colour-blind, monochrome) or a
    /// theme file; F2 cycles the bundled ones. NO_COLOR is honoured.
    #[arg(long, global = true, env = "KWB_THEME", value_name = "NAME|FILE")]
    theme: Option<String>,
    /// Keys: a bundled keymap (default, vim) or a keymap file, whose bindings replace the
    /// default ones of the commands it names.
    #[arg(long, global = true, env = "KWB_KEYMAP", value_name = "NAME|FILE")]
    keymap: Option<String>,
    /// Presenter mode: the last keys pressed and what they did in an overlay, the focused
    /// pane marked, no ticking clocks.
    #[arg(long, global = true)]
    present: bool,
    /// Mouse: a click focuses a pane or the browser, the wheel scrolls (the terminal's own
    /// text selection then needs shift).
    #[arg(long, global = true)]
    mouse: bool,
    /// Record the session as an asciicast v2 file (play it with `asciinema play FILE`).
    #[arg(long, global = true, value_name = "FILE")]
    record: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Args)]
struct ClusterArgs {
    /// Cluster config file (kwb.yaml); `kwb config default` prints one.
    #[arg(long, global = true, env = "KWB_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The cluster's data dir; overrides dataDir in the config.
    #[arg(long, global = true, env = "KWB_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Number of nodes, one kubelet process each; overrides nodes in the config. Not global:
    /// `kwb bench … --nodes` means something else; `kwb up --nodes` sets it too.
    #[arg(long, value_name = "N")]
    nodes: Option<u32>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the control plane without the TUI; Ctrl-C stops it.
    Up {
        /// Return once everything is ready, leaving the supervisor running in the background.
        #[arg(long)]
        detach: bool,
        /// Prepare config, PKI and kubeconfigs and start no component.
        #[arg(long)]
        no_start: bool,
        /// Number of nodes, one kubelet process each; overrides nodes in the config.
        #[arg(long, value_name = "N")]
        nodes: Option<u32>,
    },
    /// The workshop, step by step: the TUI on the local cluster with every component
    /// stopped; each step says what to do and why, and advances when the cluster shows it.
    Tour,
    /// Stop a cluster started with `kwb up` (or open in a TUI).
    Down,
    /// Start a component of a running cluster and wait until it is ready.
    Start(ActArgs),
    /// Stop a component of a running cluster.
    Stop(ActArgs),
    /// Restart a component of a running cluster and wait until it is ready.
    Restart(ActArgs),
    /// Show each component's state.
    Status {
        #[arg(short, long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Print a component's log (stdout and stderr, and the supervisor's notes).
    Logs {
        component: Component,
        /// This node's kubelet (default: the first node's).
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
        /// Keep printing new lines.
        #[arg(short, long)]
        follow: bool,
    },
    /// Measure a component: `kwb bench etcd --endpoints URL` works against any etcd.
    Bench {
        #[command(subcommand)]
        what: BenchCmd,
    },
    /// Users of the cluster: `kwb user create demo` prints a kubeconfig for a new user.
    User {
        #[command(subcommand)]
        what: UserCmd,
    },
    /// Cluster config helpers.
    Config {
        #[command(subcommand)]
        what: ConfigCmd,
    },
    /// Run a builtin component (the supervisor does this; flags as the upstream program's).
    Component {
        name: Component,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// What `kwb start|stop|restart` act on.
#[derive(Args)]
struct ActArgs {
    component: Component,
    /// Only this node's kubelet (default: every node's).
    #[arg(long, value_name = "NODE")]
    node: Option<String>,
    #[arg(long)]
    no_wait: bool,
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Put throughput (1 and 16 clients), range latency over 10k keys, watch delivery latency.
    Etcd(kwb::etcd::bench::Args),
    /// Create, get, list and watch latency, creates/s with 1 and 16 clients, a list of 10k
    /// pods, one change reaching 100 watchers (any cluster, through kube-rs).
    Apiserver(kwb::apiserver::bench::Args),
    /// A 1000-replica deployment on 10 fake nodes: time until every pod is created and bound,
    /// pods bound per second, idle CPU of the controller-manager and scheduler.
    Scheduling(kwb::scheduler::bench::Args),
    /// A fresh builtin cluster of its own: cold start to a Ready node and the default
    /// ServiceAccount, RSS of the six components idle, a deployment's pods until Running.
    Cluster(kwb::kubelet::bench::Args),
    /// The resource browser on a namespace of 10k pods (etcd + apiserver of its own): time
    /// to the full list, frame render time, a change reaching the table, RSS and idle CPU.
    Tui(kwb::tui::bench::Args),
}

#[derive(Subcommand)]
enum UserCmd {
    /// Print a kubeconfig for user NAME, with a client certificate signed by the cluster CA.
    /// RBAC decides what the user may do: nothing, until a RoleBinding or
    /// ClusterRoleBinding grants it (`kubectl create rolebinding … --user NAME`).
    Create {
        name: String,
        /// Groups the user is in (the certificate's O), comma-separated.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Print the default kwb.yaml, with comments.
    Default,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A builtin component owns its whole command line (it takes the upstream program's flags,
    // e.g. etcd's --data-dir), so it is dispatched before kwb's own flags are parsed.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("component") {
        return run_component(&argv[2..]);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kwb: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(mut cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Cmd::Up { nodes: Some(n), .. }) = cli.command {
        cli.cluster.nodes = Some(n);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        None if cli.attach.is_some() => {
            let presentation = presentation(&cli);
            let kubeconfig = cli.attach.flatten();
            let _log = log_to_dir(&attach_log_dir())?;
            let target = kwb::cluster::connect::Target {
                kubeconfig,
                context: cli.context,
            };
            runtime.block_on(tui::run_attached(
                target,
                cli.namespace,
                cli.readonly,
                presentation,
            ))?;
        }
        None => {
            let (cluster, lock) = prepare(&cli.cluster)?;
            let _log = log_to_file(&cluster.data)?;
            let tui = TuiArgs {
                start_all: !cli.no_start,
                readonly: cli.readonly,
                presentation: presentation(&cli),
                tour: false,
            };
            runtime.block_on(run_tui(cluster, lock, tui))?;
        }
        Some(Cmd::Tour) => {
            let (cluster, lock) = prepare(&cli.cluster)?;
            let _log = log_to_file(&cluster.data)?;
            let tui = TuiArgs {
                start_all: false,
                readonly: false,
                presentation: presentation(&cli),
                tour: true,
            };
            runtime.block_on(run_tui(cluster, lock, tui))?;
        }
        Some(Cmd::Up {
            detach, no_start, ..
        }) => {
            if detach {
                // Prepare here so config and PKI errors show in this terminal, not in a log;
                // then let go of the lock for the daemon, which takes it again.
                let (cluster, lock) = prepare(&cli.cluster)?;
                drop(lock);
                let forward = forwarded_args(&cli.cluster, &cluster.data);
                runtime.block_on(headless::up_detached(&cluster.data, &forward, !no_start))?;
            } else {
                let (cluster, lock) = prepare(&cli.cluster)?;
                let _log = log_to_file(&cluster.data)?;
                runtime.block_on(headless::up(cluster, lock, !no_start))?;
            }
        }
        Some(Cmd::Down) => runtime.block_on(headless::down(&data_dir(&cli.cluster)?))?,
        Some(Cmd::Start(a)) => runtime.block_on(act(&cli.cluster, Verb::Start, a))?,
        Some(Cmd::Stop(a)) => runtime.block_on(act(&cli.cluster, Verb::Stop, a))?,
        Some(Cmd::Restart(a)) => runtime.block_on(act(&cli.cluster, Verb::Restart, a))?,
        Some(Cmd::Status { output }) => runtime.block_on(headless::status(
            &data_dir(&cli.cluster)?,
            matches!(output, Output::Json),
        ))?,
        Some(Cmd::Logs {
            component,
            node,
            follow,
        }) => runtime.block_on(headless::logs(
            &load_config(&cli.cluster)?,
            component,
            node.as_deref(),
            follow,
        ))?,
        Some(Cmd::Bench {
            what: BenchCmd::Etcd(args),
        }) => runtime.block_on(kwb::etcd::bench::run(args))?,
        Some(Cmd::Bench {
            what: BenchCmd::Apiserver(args),
        }) => {
            let kubeconfig = data_dir(&cli.cluster)?.admin_kubeconfig();
            runtime.block_on(kwb::apiserver::bench::run(args, kubeconfig))?
        }
        Some(Cmd::Bench {
            what: BenchCmd::Scheduling(args),
        }) => {
            let kubeconfig = data_dir(&cli.cluster)?.admin_kubeconfig();
            runtime.block_on(kwb::scheduler::bench::run(args, kubeconfig))?
        }
        Some(Cmd::Bench {
            what: BenchCmd::Cluster(args),
        }) => runtime.block_on(kwb::kubelet::bench::run(args))?,
        Some(Cmd::Bench {
            what: BenchCmd::Tui(args),
        }) => runtime.block_on(kwb::tui::bench::run(args))?,
        Some(Cmd::User {
            what: UserCmd::Create { name, groups },
        }) => {
            let cluster = kwb::local::LocalCluster::existing(load_config(&cli.cluster)?)?;
            let yaml =
                kwb::pki::user_kubeconfig(&cluster.data, &cluster.pki_spec(), &name, &groups)
                    .with_context(|| format!("cannot make a kubeconfig for user {name:?}"))?;
            print!("{yaml}");
        }
        Some(Cmd::Config {
            what: ConfigCmd::Default,
        }) => print!("{DEFAULT_CONFIG_YAML}"),
        // Dispatched in main before parsing; listed here for `kwb --help`.
        Some(Cmd::Component { name, args }) => {
            let mut argv = vec![name.name().to_string()];
            argv.extend(args);
            return Ok(run_component(&argv));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `kwb component NAME [flags]`: a builtin control-plane component in this process.
fn run_component(argv: &[String]) -> ExitCode {
    let Some(name) = argv.first().and_then(|n| Component::from_name(n)) else {
        eprintln!(
            "kwb component: name one of: {}",
            Component::ALL.map(|c| c.name()).join(", ")
        );
        return ExitCode::from(2);
    };
    let result = match name {
        Component::Etcd => component_main(name, &argv[1..], kwb::etcd::run),
        Component::Apiserver => component_main(name, &argv[1..], kwb::apiserver::run),
        Component::ControllerManager => component_main(name, &argv[1..], kwb::controllers::run),
        Component::Scheduler => component_main(name, &argv[1..], kwb::scheduler::run),
        Component::Kubelet => component_main(name, &argv[1..], kwb::kubelet::run),
        Component::Proxy => component_main(name, &argv[1..], kwb::proxy::run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kwb component {name}: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Parses a builtin component's flags (exiting with clap's message on bad ones), logs to
/// stderr, and runs it on its own runtime.
fn component_main<C, F, Fut>(name: Component, args: &[String], run: F) -> anyhow::Result<()>
where
    C: clap::Parser,
    F: FnOnce(C) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let program = format!("kwb component {name}");
    let config =
        C::try_parse_from(std::iter::once(program.as_str()).chain(args.iter().map(String::as_str)))
            .unwrap_or_else(|e| e.exit());
    log_to_stderr();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run(config)))
}

async fn act(cluster: &ClusterArgs, verb: Verb, a: ActArgs) -> anyhow::Result<()> {
    let data = data_dir(cluster)?;
    headless::act(&data, verb, a.component, a.node.as_deref(), !a.no_wait).await
}

fn load_config(args: &ClusterArgs) -> anyhow::Result<ClusterConfig> {
    let mut config = match &args.config {
        Some(path) => ClusterConfig::load(path)?,
        None => ClusterConfig::default(),
    };
    if let Some(d) = &args.data_dir {
        config.data_dir = Some(std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    }
    if let Some(n) = args.nodes {
        config.nodes = n;
        config
            .check_nodes()
            .map_err(|e| anyhow::anyhow!("--nodes {n}: {e}"))?;
    }
    Ok(config)
}

fn prepare(args: &ClusterArgs) -> anyhow::Result<(LocalCluster, DataDirLock)> {
    LocalCluster::prepare(load_config(args)?)
}

fn data_dir(args: &ClusterArgs) -> anyhow::Result<DataDir> {
    Ok(DataDir::new(load_config(args)?.data_dir()))
}

/// The flags a detached `kwb up` daemon needs to find the same cluster.
fn forwarded_args(args: &ClusterArgs, data: &DataDir) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(c) = &args.config {
        let c = std::path::absolute(c).unwrap_or_else(|_| c.clone());
        out.push(format!("--config={}", c.display()));
    }
    out.push(format!("--data-dir={}", data.root().display()));
    if let Some(n) = args.nodes {
        out.push(format!("--nodes={n}"));
    }
    out
}

/// A builtin component logs JSON lines to stderr, as etcd and Kubernetes components do with
/// structured logging: its supervisor keeps them in the log file, and the pane shows them as
/// `I 03:25:31.338 message key=value`.
fn log_to_stderr() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KWB_COMPONENT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// kwb's own log goes to `<data>/kwb.log`, never to the terminal the TUI draws on.
fn log_to_file(data: &DataDir) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    log_to_dir(data.root())
}

/// Where `kwb --attach` logs: $XDG_STATE_HOME/kwb, else ~/.local/state/kwb.
fn attach_log_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("kwb")
}

fn log_to_dir(
    dir: &std::path::Path,
) -> anyhow::Result<tracing_appender::non_blocking::WorkerGuard> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the log dir {}", dir.display()))?;
    let appender = tracing_appender::rolling::never(dir, "kwb.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("kwb=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .init();
    Ok(guard)
}

/// The screen's options: the command line (and its environment variables) over the user's
/// settings file.
fn presentation(cli: &Cli) -> tui::Presentation {
    use tui::settings::{self, Settings};
    let (saved, notes) = match settings::path().map(|p| Settings::load(&p)) {
        Some(Ok(s)) => (s, vec![]),
        Some(Err(e)) => (Settings::default(), vec![format!("{e}; settings left out")]),
        None => (Settings::default(), vec![]),
    };
    tui::Presentation {
        theme: cli.theme.clone().or(saved.theme),
        keymap: cli.keymap.clone().or(saved.keymap),
        present: cli.present || saved.present == Some(true),
        record: cli.record.clone(),
        mouse: cli.mouse || saved.mouse == Some(true),
        notes,
    }
}

/// What the local TUI is opened with.
struct TuiArgs {
    start_all: bool,
    readonly: bool,
    presentation: tui::Presentation,
    tour: bool,
}

async fn run_tui(cluster: LocalCluster, lock: DataDirLock, tui: TuiArgs) -> anyhow::Result<()> {
    let TuiArgs {
        start_all,
        readonly,
        presentation,
        tour,
    } = tui;
    let info = tui::state::ClusterInfo {
        name: cluster.config.name.clone(),
        data_dir: cluster.data.root().display().to_string(),
        kubeconfig: cluster.data.admin_kubeconfig().display().to_string(),
        apiserver_url: cluster.apiserver_url(),
        attached: None,
        readonly,
    };
    let hosted = host::host(cluster, lock, supervisor::Options::default())?;
    tui::run(
        hosted,
        tui::Options {
            start_all,
            info,
            presentation,
            tour,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        // Subcommands with flags of the same name as kwb's own must still parse.
        for argv in [
            &["kwb", "bench", "scheduling", "--nodes", "10"][..],
            &["kwb", "bench", "cluster", "--nodes", "10"],
            &["kwb", "up", "--detach", "--nodes", "2"],
            &["kwb", "--nodes", "2"],
            &["kwb", "start", "kubelet", "--node", "kwb-worker"],
            &["kwb", "--attach"],
            &[
                "kwb",
                "--attach",
                "/tmp/k.yaml",
                "--context",
                "c",
                "-n",
                "demo",
            ],
        ] {
            let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            if let Some(Cmd::Bench { what }) = cli.command {
                match what {
                    BenchCmd::Scheduling(a) => assert_eq!(a.nodes, 10),
                    BenchCmd::Cluster(a) => assert_eq!(a.nodes, 10),
                    _ => unreachable!(),
                }
            }
        }
        let bare = Cli::try_parse_from(["kwb", "--attach"]).unwrap();
        assert_eq!(bare.attach, Some(None), "no file: KUBECONFIG's");
        assert!(
            Cli::try_parse_from(["kwb", "-n", "demo"]).is_err(),
            "-n only with --attach"
        );
    }
}
