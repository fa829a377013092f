//! Test helpers: a temp cluster dir with free ports, the real `kwb` binary, real external
//! programs (skipped with a message when missing, failing under CI=true), and waiting on
//! conditions instead of sleeping.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const KWB: &str = env!("CARGO_BIN_EXE_kwb");

/// Whether `program` is on PATH. When it is not: under CI=true the test fails (CI must have
/// installed it); elsewhere it prints a visible skip notice and the test returns early.
pub fn require(program: &str, test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: {program} is required under CI=true but is not installed");
        }
        eprintln!("SKIPPED {test}: {program} not found on PATH (install it to run this test)");
    }
    found
}

/// A free loopback port never handed out before by this test process. Taken from 20000-31999,
/// below Linux's ephemeral range (32768+), so an outgoing connection of a parallel test cannot
/// occupy it between now and the moment kwb checks it (kwb refuses a configured port in use).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        ^ std::process::id().rotate_left(16);
    loop {
        // xorshift: cheap, and enough to spread parallel tests over the range
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let port = 20000 + (seed % 12000) as u16;
        let mut given = GIVEN.lock().unwrap();
        if !given.get_or_insert_with(HashSet::new).insert(port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A pod CIDR of its own for each test cluster, so kubelets of parallel tests never hand
/// out the same pod IP: 127.200-249.x.0/23, outside the default service range 127.96.0.0/12.
/// A /23 holds two nodes' /24s.
pub fn pod_cidr() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "127.{}.{}.0/23",
        200 + std::process::id() % 50,
        (n * 2) % 256
    )
}

/// A service CIDR of its own for each test cluster, so the ClusterIPs that proxies of
/// parallel tests bind never clash: 127.150-199.x.0/24.
pub fn service_cidr() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("127.{}.{}.0/24", 150 + std::process::id() % 50, n % 256)
}

/// Polls `f` until it returns Some, or panics after `timeout` naming what was awaited.
/// A tokio runtime for tests that call async code of kwb or kube-rs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// [`wait_until`], and on timeout the panic also shows what `show` says (e.g. the objects
/// a wait was about), so a failure in CI explains itself.
pub fn wait_until_showing<T>(
    what: &str,
    timeout: Duration,
    f: impl FnMut() -> Option<T>,
    show: impl FnOnce() -> String,
) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until(what, timeout, f)
    })) {
        Ok(v) => v,
        Err(_) => panic!(
            "timed out after {timeout:?} waiting for {what}; state:\n{}",
            show()
        ),
    }
}

pub fn pid_alive(pid: u32) -> bool {
    // A zombie still answers kill(0); read its state so a reaped-soon child counts as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Pids of processes whose command line mentions `needle` (e.g. a test's data dir). tmux
/// servers are left out: theirs holds the command of the session they started.
pub fn pids_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me && pid_alive(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    let argv0 = c.split(|b| *b == 0).next().unwrap_or_default();
                    !argv0.ends_with(b"tmux") && String::from_utf8_lossy(&c).contains(needle)
                })
                .unwrap_or(false)
        })
        .collect()
}

/// A cluster directory for one test: kwb.yaml with explicit free ports (so parallel tests
/// never race for the defaults) and a data dir. Stops whatever it started when dropped.
pub struct TestCluster {
    /// Removed when dropped, with everything the cluster wrote.
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    pub data: PathBuf,
    /// This cluster's service range, a /24 from `service_cidr()`.
    pub service_cidr: String,
}

impl TestCluster {
    /// The address of the `kubernetes` Service: the first of the service range.
    pub fn kubernetes_service_ip(&self) -> String {
        let net = self.service_cidr.trim_end_matches("0/24");
        format!("{net}1")
    }

    /// `etcd_binary`: run Debian's etcd for the etcd component; everything else builtin.
    pub fn new(etcd_binary: bool) -> TestCluster {
        TestCluster::with_controller_manager_args(etcd_binary, &[])
    }

    /// Also passes `cm_args` to the controller-manager (e.g. a short node grace period).
    pub fn with_controller_manager_args(etcd_binary: bool, cm_args: &[&str]) -> TestCluster {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("kwb.yaml");
        let data = dir.path().join("data");
        let etcd_backend = if etcd_binary { "binary" } else { "builtin" };
        let service_cidr = service_cidr();
        let text = format!(
            "name: test\npodCidr: {}\nserviceCidr: {}\ncomponents:\n  etcd:\n    backend: {etcd_backend}\n    ports: {{client: {}, peer: {}}}\n  apiserver:\n    ports: {{secure: {}}}\n  controllerManager:\n    args: [{}]\n    ports: {{secure: {}}}\n  scheduler:\n    ports: {{secure: {}}}\n  kubelet:\n    ports: {{server: {}, healthz: {}}}\n  proxy:\n    ports: {{healthz: {}, metrics: {}}}\n",
            pod_cidr(),
            service_cidr,
            free_port(),
            free_port(),
            free_port(),
            cm_args.join(", "),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port()
        );
        std::fs::write(&config, text).unwrap();
        TestCluster {
            _dir: dir,
            config,
            data,
            service_cidr,
        }
    }

    /// `nodes: n` in the config: n kubelets (at most 2 fit the test pod range).
    pub fn with_nodes(self, n: u32) -> TestCluster {
        self.with_config(&format!("nodes: {n}"))
    }

    /// Adds a top-level key to the config (`processRuntime: [test-control-plane]`).
    pub fn with_config(self, line: &str) -> TestCluster {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.config)
            .unwrap();
        writeln!(f, "{line}").unwrap();
        self
    }

    /// A `kwb` command for this cluster (config and data dir set).
    pub fn kwb(&self, args: &[&str]) -> Command {
        let mut c = Command::new(KWB);
        c.arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env_remove("KWB_CONFIG")
            .env_remove("KWB_DATA_DIR");
        c
    }

    /// Runs `kwb ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.kwb(args).output().unwrap()
    }

    /// kubectl with this cluster's admin kubeconfig; fails the test unless it succeeds, and
    /// returns its stdout.
    /// Every component started with `kwb up --detach`.
    pub fn up(self) -> TestCluster {
        let up = self.run(&["up", "--detach"]);
        assert!(up.status.success(), "kwb up: {}", stderr(&up));
        self
    }

    /// A kube-rs client with the admin kubeconfig, made on `rt`.
    pub fn kube_client(&self, rt: &tokio::runtime::Runtime) -> kube::Client {
        let kubeconfig = self.data.join("kubeconfig/admin.kubeconfig");
        rt.block_on(async {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap();
            kube::Client::try_from(config).unwrap()
        })
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let o = Command::new("kubectl")
            .env("KUBECONFIG", self.data.join("kubeconfig/admin.kubeconfig"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "kubectl {args:?}: {}", stderr(&o));
        stdout(&o)
    }

    pub fn etcd_client_port(&self) -> u16 {
        let ports = std::fs::read_to_string(self.data.join("ports.yaml")).unwrap();
        let after = ports.split("etcd:").nth(1).unwrap();
        after
            .lines()
            .find_map(|l| l.trim().strip_prefix("client:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// etcdctl against this cluster's etcd, with the apiserver's client certificate.
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        let url = format!("https://127.0.0.1:{}", self.etcd_client_port());
        etcdctl(&url, Some(&self.data.join("pki")), args)
            .output()
            .unwrap()
    }

    pub fn data_str(&self) -> String {
        self.data.display().to_string()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = self.kwb(&["down"]).output();
        for pid in pids_mentioning(&self.data_str()) {
            // SAFETY: kill(2) on a pid we found; best-effort cleanup of a failed test.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
        // KWB_TEST_KEEP=1 keeps the cluster's files (its component logs) to look into.
        if std::env::var_os("KWB_TEST_KEEP").is_some() {
            let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
            eprintln!("kept {}", dir.keep().display());
        }
    }
}

/// etcdctl (API v3) against `endpoint`, over TLS with the cluster CA and the apiserver's
/// client certificate when a PKI dir is given, as the apiserver connects. ETCDCTL_* variables
/// of the environment are removed: they would change what it does.
pub fn etcdctl(endpoint: &str, pki: Option<&Path>, args: &[&str]) -> Command {
    let mut c = Command::new("etcdctl");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL_") {
            c.env_remove(k);
        }
    }
    c.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .stdin(std::process::Stdio::null());
    if let Some(pki) = pki {
        c.arg(format!("--cacert={}", pki.join("ca.crt").display()))
            .arg(format!(
                "--cert={}",
                pki.join("apiserver-etcd-client.crt").display()
            ))
            .arg(format!(
                "--key={}",
                pki.join("apiserver-etcd-client.key").display()
            ));
    }
    c.args(args);
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success, printing both streams when not.
pub fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    o
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
