//! Conformance of the builtin etcd (`kwb component etcd`) with Debian's etcd 3.4.
//!
//! Each scenario is a function from a freshly started, empty etcd to a transcript: the etcdctl
//! commands it ran with their exit codes and normalised stdout and stderr, and what a gRPC
//! client (the etcd v3 clients kwb generates from its protos, over TLS) saw. The same scenario
//! runs against Debian's etcd 3.4.23 (`/usr/bin/etcd`) and against the builtin, and the two
//! transcripts must be equal line by line. Revisions are compared exactly: both stores start
//! empty at revision 1, so every write must land on the same revision as it does in etcd.
//!
//! Normalised, because two correct servers differ there: cluster and member IDs, raft terms and
//! indexes, db sizes, the patch level of the version, generated lease IDs, remaining TTLs,
//! timings, ports, and the client's own log noise (timestamps, connection UUIDs). See [`Session`].
//!
//! Not here: `etcdctl check perf --load=s` takes over a minute; the lead runs it separately
//! against both targets.
//!
//! Set `KWB_ETCD_TRANSCRIPT=1` to print every transcript.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use kwb::component::Component;
use kwb::config::{Backend, ClusterConfig};
use kwb::etcd::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use kwb::etcd::proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use kwb::etcd::proto::etcdserverpb::{
    self as pb, kv_client::KvClient, lease_client::LeaseClient, request_op::Request,
    response_op::Response, watch_client::WatchClient, watch_request::RequestUnion,
};
use kwb::etcd::proto::mvccpb::{self, event::EventType};
use kwb::local::{DataDirLock, LocalCluster};

use crate::util::{self, wait_until};

// ---------------------------------------------------------------------------------------------
// Harness: the two targets, starting them, and running etcdctl and gRPC clients against them.
// ---------------------------------------------------------------------------------------------

/// Switched on when `kwb component etcd` serves. Until then every scenario runs on Debian's
/// etcd only (which validates the scenario) and the builtin run is skipped with a notice.
const BUILTIN_ETCD_SERVES: bool = true;

fn builtin_enabled() -> bool {
    BUILTIN_ETCD_SERVES
}

/// How long to wait for etcd to answer, for a watch to deliver, for a lease to expire.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const WATCH_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// Debian's etcd 3.4.23: the reference.
    Debian,
    /// `kwb component etcd`.
    Builtin,
}

/// One etcd, started from the same launch plan kwb uses, on a fresh data dir with the cluster
/// PKI. Killed when dropped.
struct Etcd {
    target: Target,
    child: Child,
    cluster: LocalCluster,
    /// Held so that nothing else takes this data dir while the test runs.
    _lock: DataDirLock,
    /// Removed when dropped, with etcd's data and log.
    dir: tempfile::TempDir,
}

impl Etcd {
    fn start(target: Target) -> Etcd {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ClusterConfig {
            data_dir: Some(dir.path().join("data")),
            ..ClusterConfig::default()
        };
        let etcd = &mut config.components.etcd;
        etcd.backend = match target {
            Target::Debian => Backend::Binary,
            Target::Builtin => Backend::Builtin,
        };
        // Explicit free ports: parallel tests never race for etcd's defaults.
        etcd.ports.insert("client".into(), util::free_port());
        etcd.ports.insert("peer".into(), util::free_port());
        let (mut cluster, lock) = LocalCluster::prepare(config).unwrap();
        // prepare() takes the running executable, which here is the test binary.
        cluster.kwb_exe = util::KWB.into();
        let plan = kwb::launch::plan(Component::Etcd, &cluster).unwrap();
        // Guard against comparing a server with itself.
        match target {
            Target::Debian => assert!(plan.program.ends_with("etcd"), "{plan:?}"),
            Target::Builtin => assert!(
                plan.program == std::path::Path::new(util::KWB)
                    && plan.args[..2] == ["component", "etcd"],
                "{plan:?}"
            ),
        }
        for (path, text) in &plan.files {
            std::fs::write(path, text).unwrap();
        }
        let log = File::create(dir.path().join("etcd.log")).unwrap();
        let child = Command::new(&plan.program)
            .args(&plan.args)
            .current_dir(&plan.cwd)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", plan.program.display()));
        let e = Etcd {
            target,
            child,
            cluster,
            _lock: lock,
            dir,
        };
        let pid = e.child.id();
        wait_until(
            &format!("{target:?} etcd to answer `etcdctl endpoint health`"),
            READY_TIMEOUT,
            || {
                assert!(
                    util::pid_alive(pid),
                    "{target:?} etcd exited before it was healthy:\n{}",
                    e.log_tail()
                );
                e.etcdctl(&["endpoint", "health"])
                    .output()
                    .unwrap()
                    .status
                    .success()
                    .then_some(())
            },
        );
        e
    }

    fn client_port(&self) -> u16 {
        self.cluster.ports.get(Component::Etcd, "client")
    }

    fn peer_port(&self) -> u16 {
        self.cluster.ports.get(Component::Etcd, "peer")
    }

    /// etcdctl over TLS with the apiserver's client certificate, as the apiserver connects.
    fn etcdctl(&self, args: &[&str]) -> Command {
        let pki = self.cluster.data.pki_dir();
        util::etcdctl(&self.cluster.etcd_client_url(), Some(&pki), args)
    }

    fn log_tail(&self) -> String {
        let log = util::read(&self.dir.path().join("etcd.log"));
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A gRPC channel to this etcd, over TLS with the apiserver's client certificate, and the
    /// runtime it runs on.
    fn grpc(&self) -> Grpc {
        let rt = crate::util::runtime();
        let pki = self.cluster.data.pki_dir();
        let read = |f: &str| std::fs::read(pki.join(f)).unwrap();
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read("ca.crt")))
            .identity(Identity::from_pem(
                read("apiserver-etcd-client.crt"),
                read("apiserver-etcd-client.key"),
            ))
            .domain_name("localhost");
        let endpoint = Endpoint::from_shared(self.cluster.etcd_client_url())
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect_timeout(Duration::from_secs(5));
        let channel = rt
            .block_on(endpoint.connect())
            .unwrap_or_else(|e| panic!("gRPC connection to the {:?} etcd: {e:?}", self.target));
        Grpc { channel, rt }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- last lines of the {:?} etcd's log ---\n{}",
                self.target,
                self.log_tail()
            );
        }
    }
}

/// A gRPC channel and its runtime. Fields drop in order: the channel before its runtime.
struct Grpc {
    channel: Channel,
    rt: tokio::runtime::Runtime,
}

impl Grpc {
    fn kv(&self) -> KvClient<Channel> {
        KvClient::new(self.channel.clone())
    }

    fn lease(&self) -> LeaseClient<Channel> {
        LeaseClient::new(self.channel.clone())
    }

    /// A watch stream with one watch created on it.
    async fn watch(&self, create: pb::WatchCreateRequest) -> GrpcWatch {
        let (requests, rx) = tokio::sync::mpsc::channel(8);
        requests
            .send(pb::WatchRequest {
                request_union: Some(RequestUnion::CreateRequest(create)),
            })
            .await
            .unwrap();
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        let responses = within(
            "a watch stream",
            WatchClient::new(self.channel.clone()).watch(stream),
        )
        .await
        .unwrap()
        .into_inner();
        GrpcWatch {
            requests,
            responses,
        }
    }
}

/// A gRPC watch stream: requests go in on `requests` (kept open: closing it ends the stream).
struct GrpcWatch {
    requests: tokio::sync::mpsc::Sender<pb::WatchRequest>,
    responses: tonic::Streaming<pb::WatchResponse>,
}

impl GrpcWatch {
    async fn next(&mut self) -> pb::WatchResponse {
        within("a watch response", self.responses.message())
            .await
            .unwrap()
            .expect("the watch stream ended")
    }

    async fn cancel(&mut self, watch_id: i64) {
        let cancel = pb::WatchCancelRequest { watch_id };
        self.requests
            .send(pb::WatchRequest {
                request_union: Some(RequestUnion::CancelRequest(cancel)),
            })
            .await
            .unwrap();
    }
}

/// A unary gRPC call's result, the server's answer within 10 s.
async fn call<T>(
    f: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, tonic::Status> {
    within("a gRPC call", f)
        .await
        .map(tonic::Response::into_inner)
}

/// The range of keys under `prefix`, as clientv3's WithPrefix makes it: the range end is the
/// prefix with its last byte below 0xff incremented; the empty prefix means every key.
fn prefix(key: &str) -> (Vec<u8>, Vec<u8>) {
    let mut end = key.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return (key.into(), end);
        }
    }
    (vec![0], vec![0])
}

fn get(key: &str) -> pb::RangeRequest {
    pb::RangeRequest {
        key: key.into(),
        ..Default::default()
    }
}

fn get_prefix(key: &str) -> pb::RangeRequest {
    let (key, range_end) = prefix(key);
    pb::RangeRequest {
        key,
        range_end,
        ..Default::default()
    }
}

fn put(key: &str, value: &str) -> pb::PutRequest {
    pb::PutRequest {
        key: key.into(),
        value: value.into(),
        ..Default::default()
    }
}

fn op_get(r: pb::RangeRequest) -> pb::RequestOp {
    pb::RequestOp {
        request: Some(Request::RequestRange(r)),
    }
}

fn op_put(r: pb::PutRequest) -> pb::RequestOp {
    pb::RequestOp {
        request: Some(Request::RequestPut(r)),
    }
}

fn op_del(r: pb::DeleteRangeRequest) -> pb::RequestOp {
    pb::RequestOp {
        request: Some(Request::RequestDeleteRange(r)),
    }
}

fn op_txn(r: pb::TxnRequest) -> pb::RequestOp {
    pb::RequestOp {
        request: Some(Request::RequestTxn(r)),
    }
}

/// A compare of `key`'s field (the operand's kind) with the operand.
fn compare(key: &str, result: CompareResult, operand: TargetUnion) -> pb::Compare {
    let target = match operand {
        TargetUnion::Version(_) => CompareTarget::Version,
        TargetUnion::CreateRevision(_) => CompareTarget::Create,
        TargetUnion::ModRevision(_) => CompareTarget::Mod,
        TargetUnion::Value(_) => CompareTarget::Value,
        TargetUnion::Lease(_) => CompareTarget::Lease,
    };
    pb::Compare {
        result: result as i32,
        target: target as i32,
        key: key.into(),
        range_end: Vec::new(),
        target_union: Some(operand),
    }
}

fn rev(h: Option<pb::ResponseHeader>) -> i64 {
    h.map_or(0, |h| h.revision)
}

/// Awaits `f`, failing the test if the server does not answer within 10 s.
async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap_or_else(|_| panic!("no answer within 10 s to {what}"))
}

/// A labelled ID per distinct value, in order of first appearance: `MEMBER1`, `ID1`, `ID2` …
/// Two servers generate different IDs, but which ones are equal must match.
#[derive(Default)]
struct Ids {
    labels: HashMap<(&'static str, u64), String>,
    counts: HashMap<&'static str, usize>,
}

impl Ids {
    fn label(&mut self, kind: &'static str, id: u64) -> String {
        if let Some(l) = self.labels.get(&(kind, id)) {
            return l.clone();
        }
        let n = self.counts.entry(kind).or_default();
        *n += 1;
        let l = format!("{kind}{n}");
        self.labels.insert((kind, id), l.clone());
        l
    }
}

/// A scenario's transcript under construction, with the normalisation state.
///
/// What is normalised, and why:
/// - `cluster_id`, `member_id`, `leader`, member `ID`: generated per cluster; mapped to
///   `CLUSTER1`, `MEMBER1` so that "the leader is this member" is still checked.
/// - lease IDs (`ID`, `id`, `lease` fields; 16-digit hex words in simple output): generated
///   by the server; mapped to `ID1`, `ID2` … in order of appearance.
/// - `raft_term`, `raftTerm`, `raftIndex`, `raftAppliedIndex`, `dbSize`, `dbSizeInUse`,
///   `took`: depend on the implementation and on timing; replaced by `*`, which still checks
///   that the field is there (etcdctl omits zero values).
/// - a version string `3.4.N` becomes `3.4.x`: clients check the minor version only.
/// - a remaining TTL within 10 s of the granted one becomes `≈granted`; outside, it is kept
///   and the transcripts differ.
/// - the client and peer ports become `CLIENT` and `PEER`.
/// - etcdctl's client log lines (JSON with a timestamp and a connection UUID) are reduced to
///   level, message, attempt and error: the error carries the gRPC code the server sent.
/// - base64 keys and values in JSON output are decoded, so transcripts are readable.
struct Session<'a> {
    e: &'a Etcd,
    lines: Vec<String>,
    ids: Ids,
}

impl<'a> Session<'a> {
    fn new(e: &'a Etcd) -> Session<'a> {
        Session {
            e,
            lines: Vec::new(),
            ids: Ids::default(),
        }
    }

    fn note(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    /// Records `$ etcdctl ARGS`, with stdin lines if any.
    fn record_command(&mut self, args: &[&str], stdin: Option<&str>) {
        let shown: Vec<String> = args.iter().map(|a| quote(a)).collect();
        let line = format!("$ etcdctl {}", shown.join(" "));
        let line = self.text(&line);
        self.note(line);
        for l in stdin.unwrap_or_default().lines() {
            let l = self.text(l);
            self.note(format!("  < {l}").trim_end().to_string());
        }
    }

    fn run(&mut self, args: &[&str], stdin: Option<&str>) -> Output {
        self.record_command(args, stdin);
        let mut cmd = self.e.etcdctl(args);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let o = child.wait_with_output().unwrap();
        self.note(format!("  {}", exit_line(o.status)));
        o
    }

    fn record_stderr(&mut self, o: &Output) {
        for l in util::stderr(o).lines() {
            let l = self.text(l);
            self.note(format!("  ! {l}"));
        }
    }

    /// etcdctl with its simple output, recorded line by line.
    fn ctl(&mut self, args: &[&str]) {
        self.ctl_stdin(args, None)
    }

    fn ctl_stdin(&mut self, args: &[&str], stdin: Option<&str>) {
        let o = self.run(args, stdin);
        for l in util::stdout(&o).lines() {
            let l = self.text(l);
            self.note(format!("  > {l}").trim_end().to_string());
        }
        self.record_stderr(&o);
    }

    /// etcdctl with `-w json`: each output line parsed, normalised and recorded. Returns the
    /// raw JSON values (one per line) for the scenario to take IDs and revisions from.
    fn json(&mut self, args: &[&str]) -> Vec<Value> {
        self.json_stdin(args, None)
    }

    fn json_stdin(&mut self, args: &[&str], stdin: Option<&str>) -> Vec<Value> {
        let mut args = args.to_vec();
        args.extend(["-w", "json"]);
        let o = self.run(&args, stdin);
        let mut values = Vec::new();
        for l in util::stdout(&o).lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Value>(l) {
                Ok(v) => {
                    let n = self.norm_value("", &v);
                    self.note(format!("  > {n}"));
                    values.push(v);
                }
                Err(_) => {
                    let l = self.text(l);
                    self.note(format!("  > {l}"));
                }
            }
        }
        self.record_stderr(&o);
        values
    }

    /// The header revision of the first JSON value of an etcdctl run (`put`, `get`, `del`, `txn`).
    fn json_rev(&mut self, args: &[&str]) -> i64 {
        let v = self.json(args);
        header_rev(v.first().unwrap_or_else(|| panic!("no JSON from {args:?}")))
    }

    /// A background `etcdctl watch ARGS` whose output lines arrive on a channel.
    fn watch(&mut self, args: &[&str]) -> Watch {
        let args: Vec<&str> = ["watch"].iter().chain(args).copied().collect();
        let shown: Vec<String> = args.iter().map(|a| quote(a)).collect();
        let line = self.text(&format!("$ etcdctl {} &", shown.join(" ")));
        self.note(line);
        let mut child = self
            .e
            .etcdctl(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Watch {
            child,
            lines: rx,
            stderr: Some(stderr),
        }
    }

    /// Records a watch's simple output up to and including the line `last`.
    fn watch_lines_until(&mut self, w: &mut Watch, last: &str) {
        for l in w.until(|l| l == last) {
            let l = self.text(&l);
            self.note(format!("  > {l}").trim_end().to_string());
        }
    }

    /// Records the next `n` lines of a watch's simple output.
    fn watch_lines_count(&mut self, w: &mut Watch, n: usize) {
        let mut seen = 0;
        for l in w.until(|_| {
            seen += 1;
            seen == n
        }) {
            let l = self.text(&l);
            self.note(format!("  > {l}").trim_end().to_string());
        }
    }

    /// Records a `watch -w json` up to the response holding an event for `key`. Events are
    /// recorded one per line, not per response: etcd batches historical events into one
    /// response and live ones by timing, which no client can rely on.
    fn watch_json_until(&mut self, w: &mut Watch, key: &str) {
        let key64 = format!("\"{}\"", b64(key));
        for l in w.until(|l| l.contains(&key64)) {
            let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
            self.watch_response(&v);
        }
    }

    fn watch_response(&mut self, v: &Value) {
        for ev in v["Events"].as_array().into_iter().flatten() {
            let n = self.norm_value("Events", ev);
            self.note(format!("  > event {n}"));
        }
        if v["Canceled"] == true || v["CompactRevision"].as_i64().unwrap_or(0) != 0 {
            let n = self.norm_value("", v);
            self.note(format!("  > response {n}"));
        }
    }

    /// Waits for a watch that ends by itself (e.g. on compaction) and records the rest.
    fn watch_end(&mut self, mut w: Watch, json: bool) {
        let status = wait_until("etcdctl watch to exit", WATCH_TIMEOUT, || {
            w.child.try_wait().unwrap()
        });
        let stderr = w.stderr.take().unwrap().join().unwrap();
        // The reader thread sends every line before the pipe closes.
        while let Ok(l) = w.lines.recv_timeout(Duration::from_secs(2)) {
            if json {
                let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
                self.watch_response(&v);
            } else {
                let l = self.text(&l);
                self.note(format!("  > {l}").trim_end().to_string());
            }
        }
        self.note(format!("  {}", exit_line(status)));
        for l in stderr.lines() {
            let l = self.text(l);
            self.note(format!("  ! {l}"));
        }
    }

    /// Normalises a line of text output (see [`Session`]).
    fn text(&mut self, line: &str) -> String {
        if let Some(log) = client_log(line) {
            return log;
        }
        let line = line
            .replace(
                &format!("127.0.0.1:{}", self.e.client_port()),
                "127.0.0.1:CLIENT",
            )
            .replace(
                &format!("127.0.0.1:{}", self.e.peer_port()),
                "127.0.0.1:PEER",
            );
        let mut line = self.hex_ids(&line);
        if let Some(i) = line.find("took = ") {
            line.truncate(i + "took = ".len());
            line.push('*');
        }
        remaining_ttl(&line)
    }

    /// Maps 16-digit hex words (lease IDs as etcdctl prints them, `%016x`) to labels.
    fn hex_ids(&mut self, line: &str) -> String {
        let mut out = String::new();
        let mut word = String::new();
        for c in line.chars().chain(std::iter::once('\n')) {
            if c.is_ascii_alphanumeric() {
                word.push(c);
                continue;
            }
            let is_id = word.len() == 16 && word.chars().all(|c| c.is_ascii_hexdigit());
            match u64::from_str_radix(&word, 16) {
                Ok(id) if is_id => out.push_str(&self.ids.label("ID", id)),
                _ => out.push_str(&word),
            }
            word.clear();
            out.push(c);
        }
        out.pop();
        out
    }

    /// Normalises a JSON value from etcdctl (see [`Session`]); `parent` is the field holding it.
    fn norm_value(&mut self, parent: &str, v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let granted = m.get("granted-ttl").and_then(Value::as_i64);
                let mut out = serde_json::Map::new();
                for (k, val) in m {
                    let n = self.norm_field(parent, k, val, granted);
                    out.insert(k.clone(), n);
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.norm_value(parent, x)).collect()),
            Value::String(s) => Value::String(self.text(s)),
            other => other.clone(),
        }
    }

    fn norm_field(&mut self, parent: &str, k: &str, v: &Value, granted: Option<i64>) -> Value {
        let id = v.as_u64();
        match (k, v) {
            ("cluster_id", _) if id.is_some() => self.ids.label("CLUSTER", id.unwrap()).into(),
            ("member_id" | "leader", _) if id.is_some() => {
                self.ids.label("MEMBER", id.unwrap()).into()
            }
            ("ID", _) if parent == "members" && id.is_some() => {
                self.ids.label("MEMBER", id.unwrap()).into()
            }
            ("ID" | "id" | "lease", _) if id.is_some() => self.ids.label("ID", id.unwrap()).into(),
            (
                "raft_term" | "raftTerm" | "raftIndex" | "raftAppliedIndex" | "dbSize"
                | "dbSizeInUse" | "took",
                _,
            ) => "*".into(),
            ("version", Value::String(s)) => match s.strip_prefix("3.4.") {
                Some(_) => "3.4.x".into(),
                None => s.clone().into(),
            },
            ("key" | "value", Value::String(s)) => unb64(s).into(),
            // A lease's keys: etcd keeps them in a Go map, so their order is random; sorted.
            ("keys", Value::Array(a)) => {
                let mut keys: Vec<Value> = a
                    .iter()
                    .map(|k| k.as_str().map_or(k.clone(), |s| unb64(s).into()))
                    .collect();
                keys.sort_by_key(|k| k.to_string());
                keys.into()
            }
            ("ttl", Value::Number(n)) => match (n.as_i64(), granted) {
                (Some(t), Some(g)) if g > 0 && t > g - 10 && t <= g => format!("≈{g}").into(),
                _ => v.clone(),
            },
            (_, val) => self.norm_value(k, val),
        }
    }

    /// A key-value from a gRPC response, as one line.
    fn kv(&mut self, kv: &mvccpb::KeyValue) -> String {
        let mut s = format!(
            "{}={:?} create={} mod={} ver={}",
            String::from_utf8_lossy(&kv.key),
            String::from_utf8_lossy(&kv.value),
            kv.create_revision,
            kv.mod_revision,
            kv.version
        );
        if kv.lease != 0 {
            let l = self.ids.label("ID", kv.lease as u64);
            s.push_str(&format!(" lease={l}"));
        }
        s
    }

    fn kvs(&mut self, kvs: &[mvccpb::KeyValue]) -> String {
        let kvs: Vec<String> = kvs.iter().map(|kv| self.kv(kv)).collect();
        format!("[{}]", kvs.join(", "))
    }

    /// A gRPC result: `ok` renders success; an error is its gRPC code and message.
    fn grpc<T>(
        &mut self,
        what: &str,
        r: Result<T, tonic::Status>,
        ok: impl FnOnce(&mut Self, T) -> String,
    ) {
        let line = match r {
            Ok(v) => ok(self, v),
            Err(s) => format!("error {:?}: {}", s.code(), s.message()),
        };
        self.note(format!("grpc {what}: {line}"));
    }

    fn get_response(&mut self, r: &pb::RangeResponse) -> String {
        format!(
            "rev={} count={} more={} kvs={}",
            rev(r.header),
            r.count,
            r.more,
            self.kvs(&r.kvs)
        )
    }

    fn put_response(&mut self, r: &pb::PutResponse) -> String {
        let prev = r.prev_kv.as_ref().map(|kv| self.kv(kv));
        format!("rev={} prev={prev:?}", rev(r.header))
    }

    fn delete_response(&mut self, r: &pb::DeleteRangeResponse) -> String {
        format!(
            "rev={} deleted={} prev={}",
            rev(r.header),
            r.deleted,
            self.kvs(&r.prev_kvs)
        )
    }

    fn txn_response(&mut self, r: &pb::TxnResponse) -> String {
        let ops: Vec<String> = r
            .responses
            .iter()
            .map(|op| match &op.response {
                Some(Response::ResponsePut(p)) => format!("put {}", self.put_response(p)),
                Some(Response::ResponseRange(g)) => format!("get {}", self.get_response(g)),
                Some(Response::ResponseDeleteRange(d)) => {
                    format!("delete {}", self.delete_response(d))
                }
                Some(Response::ResponseTxn(t)) => format!("txn {{{}}}", self.txn_response(t)),
                None => "no response".into(),
            })
            .collect();
        format!(
            "rev={} succeeded={} responses=[{}]",
            rev(r.header),
            r.succeeded,
            ops.join("; ")
        )
    }

    /// Records a gRPC watch response (created, canceled, compaction, and each event) and
    /// returns its events' types and revisions.
    fn grpc_watch_response(&mut self, r: &pb::WatchResponse) -> Vec<(EventType, i64)> {
        let mut seen = Vec::new();
        if r.created || r.canceled || r.compact_revision != 0 {
            self.note(format!(
                "grpc watch response: id={} created={} canceled={} compact_revision={} cancel_reason={:?} events={}",
                r.watch_id,
                r.created,
                r.canceled,
                r.compact_revision,
                r.cancel_reason,
                r.events.len()
            ));
        }
        for ev in &r.events {
            let kv = ev.kv.as_ref().map(|kv| self.kv(kv)).unwrap_or_default();
            let prev = ev.prev_kv.as_ref().map(|kv| self.kv(kv));
            self.note(format!(
                "grpc watch event: {:?} {kv} prev={prev:?}",
                ev.r#type()
            ));
            seen.push((ev.r#type(), ev.kv.as_ref().map_or(0, |kv| kv.mod_revision)));
        }
        seen
    }
}

/// A background `etcdctl watch`.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Watch {
    /// Output lines up to and including the first for which `last` holds.
    fn until(&mut self, mut last: impl FnMut(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + WATCH_TIMEOUT;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let done = last(&l);
                    got.push(l);
                    if done {
                        return got;
                    }
                }
                Err(_) => panic!(
                    "etcdctl watch: the expected event did not arrive within {WATCH_TIMEOUT:?}; got:\n{}",
                    got.join("\n")
                ),
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn quote(a: &str) -> String {
    if a.is_empty() || a.contains([' ', '"']) {
        format!("{a:?}")
    } else {
        a.to_string()
    }
}

fn exit_line(s: ExitStatus) -> String {
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("{s}"),
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn unb64(s: &str) -> String {
    match base64::engine::general_purpose::STANDARD.decode(s) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => format!("<not base64: {s}>"),
    }
}

fn header_rev(v: &Value) -> i64 {
    v["header"]["revision"]
        .as_i64()
        .unwrap_or_else(|| panic!("no header revision in {v}"))
}

/// etcdctl's client log lines, e.g. the retry interceptor's warning, reduced to what the server
/// caused: level, message, attempt and error (which holds the gRPC code and message).
fn client_log(line: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    let level = v.get("level")?.as_str()?;
    let msg = v.get("msg")?.as_str()?;
    let mut s = format!("client log {level}: {msg}");
    if let Some(a) = v.get("attempt") {
        s.push_str(&format!(" (attempt {a})"));
    }
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        s.push_str(&format!(": {e}"));
    }
    Some(s)
}

/// `attached keys([k2 k1])` → `attached keys([k1 k2])`: etcd keeps a lease's keys in a Go map,
/// so their order is random; the set is what is compared.
fn sorted_lease_keys(line: &str) -> String {
    let marker = "attached keys([";
    let Some(start) = line.find(marker).map(|i| i + marker.len()) else {
        return line.to_string();
    };
    let Some(len) = line[start..].find("])") else {
        return line.to_string();
    };
    let mut keys: Vec<&str> = line[start..start + len].split(' ').collect();
    keys.sort();
    format!(
        "{}{}{}",
        &line[..start],
        keys.join(" "),
        &line[start + len..]
    )
}

/// `granted with TTL(60s), remaining(59s)` → `remaining(≈60s)` when within 10 s of the grant.
fn remaining_ttl(line: &str) -> String {
    let line = &sorted_lease_keys(line);
    let number_after = |marker: &str| -> Option<(usize, usize, i64)> {
        let start = line.find(marker)? + marker.len();
        let len = line[start..].find("s)")?;
        Some((start, len, line[start..start + len].parse().ok()?))
    };
    match (number_after("TTL("), number_after("remaining(")) {
        (Some((_, _, g)), Some((start, len, r))) if r > g - 10 && r <= g => {
            format!("{}≈{g}{}", &line[..start], &line[start + len..])
        }
        _ => line.to_string(),
    }
}

/// Runs `scenario` on Debian's etcd and, when enabled, on the builtin; the transcripts must
/// be equal.
fn conformance(test: &str, scenario: fn(&Etcd) -> Vec<String>) {
    if !util::require("etcd", test) || !util::require("etcdctl", test) {
        return;
    }
    let started = Instant::now();
    let debian = scenario(&Etcd::start(Target::Debian));
    assert!(!debian.is_empty(), "{test}: empty transcript");
    if std::env::var_os("KWB_ETCD_TRANSCRIPT").is_some() {
        eprintln!("--- {test} on Debian's etcd ---\n{}", debian.join("\n"));
    }
    eprintln!(
        "{test}: Debian's etcd: {} transcript lines in {:.1?}",
        debian.len(),
        started.elapsed()
    );
    if !builtin_enabled() {
        eprintln!(
            "SKIPPED {test} on the builtin etcd: `kwb component etcd` does not serve yet (BUILTIN_ETCD_SERVES)"
        );
        return;
    }
    let started = Instant::now();
    let builtin = scenario(&Etcd::start(Target::Builtin));
    eprintln!(
        "{test}: builtin etcd: {} transcript lines in {:.1?}",
        builtin.len(),
        started.elapsed()
    );
    assert_same(test, &debian, &builtin);
}

fn assert_same(test: &str, debian: &[String], builtin: &[String]) {
    if debian == builtin {
        return;
    }
    let at = debian
        .iter()
        .zip(builtin)
        .position(|(a, b)| a != b)
        .unwrap_or(debian.len().min(builtin.len()));
    let missing = String::from("<no line>");
    panic!(
        "{test}: the builtin etcd differs from Debian's etcd 3.4 at transcript line {}:\n  debian:  {}\n  builtin: {}\n\n--- Debian's etcd ---\n{}\n\n--- builtin etcd ---\n{}",
        at + 1,
        debian.get(at).unwrap_or(&missing),
        builtin.get(at).unwrap_or(&missing),
        debian.join("\n"),
        builtin.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Scenarios: each starts on an empty store (revision 1) and returns its transcript.
// ---------------------------------------------------------------------------------------------

/// Reads: single keys, prefixes, ranges, from-key, old revisions, every sort, limits,
/// keys-only, count-only, serializable, missing keys.
fn scenario_kv_reads(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    // Final state, chosen so that each sort target gives its own order over [a, d):
    //   a=3 create 2 mod 6 ver 3; b=1 create 3 mod 7 ver 2; c=2 create 4 mod 4 ver 1.
    for (k, v) in [
        ("a", "1"),
        ("b", "2"),
        ("c", "2"),
        ("a", "2"),
        ("a", "3"),
        ("b", "1"),
    ] {
        s.ctl(&["put", k, v]);
    }
    for k in ["p/1", "p/2", "q"] {
        s.json(&["put", k, k]);
    }
    s.json(&["get", "a"]);
    s.ctl(&["get", "a"]);
    s.ctl(&["get", "a", "--print-value-only"]);
    s.json(&["get", "--prefix", "p/"]);
    s.ctl(&["get", "--prefix", ""]);
    s.json(&["get", "--prefix", ""]);
    // Older revisions, and one before the key existed.
    for rev in ["1", "2", "5", "6", "7"] {
        s.json(&["get", "a", &format!("--rev={rev}")]);
    }
    s.json(&["get", "--prefix", "", "--rev=4"]);
    for sort in ["KEY", "VERSION", "CREATE", "MODIFY", "VALUE"] {
        for order in ["ASCEND", "DESCEND"] {
            s.json(&[
                "get",
                "a",
                "d",
                &format!("--sort-by={sort}"),
                &format!("--order={order}"),
            ]);
        }
    }
    s.ctl(&["get", "a", "d", "--sort-by=VALUE"]);
    s.json(&["get", "--prefix", "", "--limit=2"]);
    s.json(&[
        "get",
        "--prefix",
        "",
        "--limit=2",
        "--sort-by=KEY",
        "--order=DESCEND",
    ]);
    s.json(&["get", "--prefix", "", "--limit=9"]);
    s.json(&["get", "--prefix", "", "--keys-only"]);
    s.ctl(&["get", "--prefix", "", "--keys-only"]);
    s.json(&["get", "--from-key", "b"]);
    s.ctl(&["get", "--from-key", "b"]);
    s.json(&["get", "a", "c"]);
    s.json(&["get", "a", "--consistency=s"]);
    // A missing key: no output at all in simple format, exit 0.
    s.ctl(&["get", "missing"]);
    s.json(&["get", "missing"]);
    s.json(&["get", "--prefix", "missing/"]);
    // etcdctl 3.4 has no --count-only (it came with 3.5): count-only is asked for over gRPC.
    let g = e.grpc();
    g.rt.block_on(async {
        let mut kv = g.kv();
        let req = pb::RangeRequest {
            count_only: true,
            ..get_prefix("")
        };
        let r = call(kv.range(req)).await;
        s.grpc("get all count-only", r, |s, r| s.get_response(&r));
        let req = pb::RangeRequest {
            count_only: true,
            revision: 4,
            ..get_prefix("")
        };
        let r = call(kv.range(req)).await;
        s.grpc("get all count-only at revision 4", r, |s, r| {
            s.get_response(&r)
        });
        let req = pb::RangeRequest {
            keys_only: true,
            ..get("a")
        };
        let r = call(kv.range(req)).await;
        s.grpc("get a keys-only", r, |s, r| s.get_response(&r));
        let req = pb::RangeRequest {
            limit: 1,
            sort_target: SortTarget::Mod as i32,
            sort_order: SortOrder::Descend as i32,
            ..get_prefix("")
        };
        let r = call(kv.range(req)).await;
        s.grpc("get all limit 1 by mod descending", r, |s, r| {
            s.get_response(&r)
        });
        let req = pb::RangeRequest {
            range_end: vec![0],
            keys_only: true,
            ..get("p/2")
        };
        let r = call(kv.range(req)).await;
        s.grpc("get from p/2 keys-only", r, |s, r| s.get_response(&r));
    });
    s.lines
}

/// Writes: --prev-kv, --ignore-value and --ignore-lease (success and each error), leases on
/// puts, empty values and non-ASCII keys.
fn scenario_put_flags(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    s.ctl(&["put", "a", "1"]);
    s.ctl(&["put", "a", "2", "--prev-kv"]);
    s.json(&["put", "a", "3", "--prev-kv"]);
    // No previous value: nothing but OK.
    s.ctl(&["put", "b", "x", "--prev-kv"]);
    s.json(&["put", "c", "x", "--prev-kv"]);
    s.ctl(&["put", "empty", ""]);
    s.json(&["get", "empty"]);
    s.ctl(&["put", "ключ", "значение"]);
    s.json(&["get", "--prefix", "к"]);

    // --ignore-value keeps the value and bumps version and mod revision.
    s.ctl(&["put", "a", "--ignore-value"]);
    s.json(&["get", "a"]);
    s.json(&["put", "a", "--ignore-value", "--prev-kv"]);
    s.ctl(&["put", "missing", "--ignore-value"]);
    s.ctl(&["put", "missing", "v", "--ignore-lease"]);
    s.json(&["get", "missing"]);
    s.ctl(&["put", "a", "4", "--ignore-lease"]);
    s.json(&["get", "a"]);

    let grant = s.json(&["lease", "grant", "60"]);
    let lease = format!("{:016x}", grant[0]["ID"].as_i64().unwrap());
    s.ctl(&["put", "a", "5", &format!("--lease={lease}")]);
    s.json(&["get", "a"]);
    // --ignore-lease keeps the key's lease; --ignore-value too.
    s.ctl(&["put", "a", "6", "--ignore-lease"]);
    s.json(&["get", "a"]);
    s.ctl(&["put", "a", "--ignore-value", "--ignore-lease"]);
    s.json(&["get", "a"]);
    s.ctl(&[
        "put",
        "a",
        "7",
        &format!("--lease={lease}"),
        "--ignore-lease",
    ]);
    s.ctl(&["put", "a", "8", "--lease=1234abcd"]);
    s.json(&["get", "a"]);
    s.ctl(&["lease", "timetolive", &lease, "--keys"]);
    // A plain put detaches the key from its lease.
    s.ctl(&["put", "a", "9"]);
    s.json(&["get", "a"]);
    s.json(&["lease", "timetolive", &lease, "--keys"]);

    // Errors etcdctl cannot provoke: a value with ignore_value, a lease with ignore_lease.
    let g = e.grpc();
    g.rt.block_on(async {
        let mut kv = g.kv();
        for (what, req) in [
            (
                "put a=v ignore_value",
                pb::PutRequest {
                    ignore_value: true,
                    ..put("a", "v")
                },
            ),
            (
                "put a ignore_value prev_kv",
                pb::PutRequest {
                    ignore_value: true,
                    prev_kv: true,
                    ..put("a", "")
                },
            ),
            (
                "put a=v lease=7 ignore_lease",
                pb::PutRequest {
                    ignore_lease: true,
                    lease: 7,
                    ..put("a", "v")
                },
            ),
            (
                "put nope ignore_value ignore_lease",
                pb::PutRequest {
                    ignore_value: true,
                    ignore_lease: true,
                    ..put("nope", "")
                },
            ),
        ] {
            let r = call(kv.put(req)).await;
            s.grpc(what, r, |s, r| s.put_response(&r));
        }
    });
    s.json(&["get", "--prefix", ""]);
    s.lines
}

/// Deletes: single keys, prefixes, ranges, from-key, --prev-kv, missing keys (which do not
/// create a revision).
fn scenario_delete(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    for k in ["a", "b", "c", "p/1", "p/2", "p/3", "q", "r"] {
        s.ctl(&["put", k, &format!("value of {k}")]);
    }
    s.ctl(&["del", "a"]);
    s.json(&["get", "a"]);
    s.json(&["del", "--prefix", "p/"]);
    s.ctl(&["del", "b", "--prev-kv"]);
    s.ctl(&["del", "missing"]);
    s.json(&["del", "missing", "--prev-kv"]);
    s.json(&["del", "--prefix", "missing/"]);
    s.json(&["del", "c", "q", "--prev-kv"]);
    s.json(&["del", "--from-key", "q", "--prev-kv"]);
    s.json(&["get", "--prefix", ""]);
    // History keeps what was deleted.
    s.json(&["get", "--prefix", "", "--rev=9"]);
    s.json(&["get", "--prefix", "p/", "--rev=10"]);
    // A key deleted and put again starts over at version 1 with a new create revision.
    s.ctl(&["put", "a", "again"]);
    s.json(&["get", "a"]);
    s.json(&["del", "a", "--prev-kv"]);
    s.lines
}

/// Transactions through `etcdctl txn` (compares on value, version, create and mod with
/// =, >, <, !=; both branches; a response per op) and over gRPC (lease and range compares,
/// nested transactions).
fn scenario_txn(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    // a: create 2, mod 4, version 2, value 11; b: create 3, mod 3, version 1.
    s.ctl(&["put", "a", "1"]);
    s.ctl(&["put", "b", "2"]);
    s.ctl(&["put", "a", "11"]);
    let all_true = concat!(
        "value(\"a\") = \"11\"\n",
        "version(\"a\") > \"1\"\n",
        "create(\"a\") < \"3\"\n",
        "mod(\"a\") != \"3\"\n",
        "\n",
        "put a 99 --prev-kv\n",
        "get a\n",
        "del b --prev-kv\n",
        "get \"\" --prefix --keys-only\n",
        "put new 1\n",
        "\n",
        "put fail 1\n",
        "\n",
    );
    s.ctl_stdin(&["txn"], Some(all_true));
    s.json(&["get", "--prefix", ""]);
    let failing = concat!(
        "value(\"a\") = \"99\"\n",
        "version(\"a\") = \"1\"\n",
        "\n",
        "put never 1\n",
        "\n",
        "put f 1\n",
        "get f\n",
        "get a --rev=2\n",
        "\n",
    );
    s.ctl_stdin(&["txn"], Some(failing));
    s.json_stdin(&["txn"], Some(failing));
    // One compare per line: which hold. a: value 99, version 3, create 2, mod 5.
    for cmp in [
        "value(\"a\") = \"99\"",
        "value(\"a\") != \"99\"",
        "value(\"a\") > \"9\"",
        "value(\"a\") < \"99\"",
        "version(\"a\") = \"3\"",
        "version(\"a\") < \"3\"",
        "create(\"a\") = \"2\"",
        "create(\"a\") > \"2\"",
        "mod(\"a\") = \"5\"",
        "mod(\"a\") > \"5\"",
        "mod(\"a\") < \"6\"",
        // A missing key compares as version, create and mod 0, and any value compare fails.
        "version(\"missing\") = \"0\"",
        "create(\"missing\") < \"1\"",
        "mod(\"missing\") = \"0\"",
        "value(\"missing\") = \"\"",
        "value(\"missing\") != \"x\"",
    ] {
        s.ctl_stdin(
            &["txn"],
            Some(&format!("{cmp}\n\nget a --keys-only\n\nget b\n\n")),
        );
    }
    // No compares: success; no ops at all: an empty response.
    s.json_stdin(&["txn"], Some("\nput x 1\nget x\n\n\n"));
    s.json_stdin(&["txn"], Some("\n\n\n"));
    // An op that fails fails the whole txn (future revision), and nothing is written.
    s.ctl_stdin(&["txn"], Some("\nput y 1\nget a --rev=100\n\n\n"));
    s.json(&["get", "y"]);

    // etcdctl 3.4 cannot parse lease compares (it panics in clientv3.Compare): gRPC.
    let grant = s.json(&["lease", "grant", "60"]);
    let lease = grant[0]["ID"].as_i64().unwrap();
    s.ctl(&["put", "l", "leased", &format!("--lease={lease:016x}")]);
    let g = e.grpc();
    g.rt.block_on(async {
        let mut kv = g.kv();
        let ranged = |c: pb::Compare, range_end: &[u8]| pb::Compare {
            range_end: range_end.to_vec(),
            ..c
        };
        for (what, cmp) in [
            (
                "lease(l) = granted",
                compare("l", CompareResult::Equal, TargetUnion::Lease(lease)),
            ),
            (
                "lease(a) = 0",
                compare("a", CompareResult::Equal, TargetUnion::Lease(0)),
            ),
            (
                "lease(a) != 0",
                compare("a", CompareResult::NotEqual, TargetUnion::Lease(0)),
            ),
            (
                "version(prefix p) > 0 on no keys",
                ranged(
                    compare("p", CompareResult::Greater, TargetUnion::Version(0)),
                    &prefix("p").1,
                ),
            ),
            (
                "version(range [a, c)) > 0",
                ranged(
                    compare("a", CompareResult::Greater, TargetUnion::Version(0)),
                    b"c",
                ),
            ),
            (
                "create(from a) < 3",
                ranged(
                    compare("a", CompareResult::Less, TargetUnion::CreateRevision(3)),
                    b"\0",
                ),
            ),
            (
                "create(from the empty key) < 3",
                ranged(
                    compare("", CompareResult::Less, TargetUnion::CreateRevision(3)),
                    b"\0",
                ),
            ),
        ] {
            let txn = pb::TxnRequest {
                compare: vec![cmp],
                success: vec![op_get(pb::RangeRequest {
                    keys_only: true,
                    ..get("a")
                })],
                failure: vec![op_get(get("b"))],
            };
            let r = call(kv.txn(txn)).await;
            s.grpc(what, r, |s, r| s.txn_response(&r));
        }
        // Nested: every compare of the tree is evaluated before any op runs, so the inner
        // compare does not see the outer put; the ops then run in order.
        let inner = pb::TxnRequest {
            compare: vec![compare(
                "n1",
                CompareResult::Equal,
                TargetUnion::Value(b"outer".to_vec()),
            )],
            success: vec![op_put(put("n2", "inner then"))],
            failure: vec![
                op_put(pb::PutRequest {
                    prev_kv: true,
                    ..put("n2", "inner else")
                }),
                op_get(get("n1")),
            ],
        };
        let outer = pb::TxnRequest {
            success: vec![op_put(put("n1", "outer")), op_txn(inner)],
            ..Default::default()
        };
        let r = call(kv.txn(outer)).await;
        s.grpc("nested txn", r, |s, r| s.txn_response(&r));
        // A key written by both an outer and a nested txn is a duplicate.
        let inner = pb::TxnRequest {
            success: vec![op_put(put("n1", "inner"))],
            ..Default::default()
        };
        let outer = pb::TxnRequest {
            success: vec![op_put(put("n1", "outer")), op_txn(inner)],
            ..Default::default()
        };
        let r = call(kv.txn(outer)).await;
        s.grpc("nested txn writing n1 twice", r, |s, r| s.txn_response(&r));
        // The same key in both branches is fine: only one of them runs.
        let txn = pb::TxnRequest {
            compare: vec![compare("n", CompareResult::Equal, TargetUnion::Version(0))],
            success: vec![op_put(put("n", "then"))],
            failure: vec![op_put(put("n", "else")), op_get(get("n"))],
        };
        let r = call(kv.txn(txn)).await;
        s.grpc("same key in both branches", r, |s, r| s.txn_response(&r));
    });
    s.json(&["get", "--prefix", ""]);
    s.lines
}

/// Compaction: reads below the compacted revision fail, at and above it work, future revisions
/// fail; compacting again fails.
fn scenario_compaction(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    for v in 1..=5 {
        s.json(&["put", "k", &format!("v{v}")]);
    }
    s.ctl(&["compaction", "4"]);
    s.ctl(&["get", "k", "--rev=3"]);
    s.ctl(&["get", "k", "--rev=1"]);
    s.json(&["get", "k", "--rev=4"]);
    s.json(&["get", "k", "--rev=6"]);
    s.ctl(&["get", "k", "--rev=7"]);
    s.ctl(&["get", "k", "--rev=100"]);
    s.ctl(&["compaction", "4"]);
    s.ctl(&["compaction", "2"]);
    s.ctl(&["compaction", "100"]);
    s.ctl(&["compaction", "--physical", "5"]);
    s.ctl(&["get", "k", "--rev=4"]);
    s.json(&["get", "k", "--rev=5"]);
    // A txn reading a compacted revision fails as a whole: its put is not applied.
    s.ctl_stdin(&["txn"], Some("\nput other 1\nget k --rev=3\n\n\n"));
    s.json(&["get", "--prefix", ""]);
    s.json(&["del", "k"]);
    s.json(&["get", "k", "--rev=6"]);
    s.json(&["endpoint", "status"]);
    let g = e.grpc();
    g.rt.block_on(async {
        let mut kv = g.kv();
        for at in [2, 8] {
            let req = pb::RangeRequest {
                revision: at,
                ..get("k")
            };
            let r = call(kv.range(req)).await;
            s.grpc(&format!("get k at {at}"), r, |s, r| s.get_response(&r));
        }
        for revision in [100, 6] {
            let req = pb::CompactionRequest {
                revision,
                physical: false,
            };
            let r = call(kv.compact(req)).await;
            s.grpc(&format!("compact {revision}"), r, |_, r| {
                format!("ok rev={}", rev(r.header))
            });
        }
    });
    s.lines
}

/// Watches through etcdctl (simple and JSON, with and without --prev-kv) and over gRPC:
/// history from a revision, live events, a txn's events sharing one revision, and watches
/// from a compacted revision.
fn scenario_watch(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    // Every watch below reads up to the event for this key: then nothing can be missing.
    let sentinel = "kz";
    let mut k_revs = Vec::new();
    k_revs.push(s.json_rev(&["put", "k1", "v1"]));
    k_revs.push(s.json_rev(&["put", "k2", "v2"]));
    s.json(&["put", "other", "x"]);
    k_revs.push(s.json_rev(&["del", "k1"]));
    k_revs.push(s.json_rev(&["put", "k2", "v22"]));

    let mut simple = s.watch(&["--rev=1", "--prefix", "k"]);
    let mut prev = s.watch(&["--rev=2", "--prefix", "k", "--prev-kv"]);
    let mut json = s.watch(&["--rev=2", "--prefix", "k", "--prev-kv", "-w", "json"]);
    let mut single = s.watch(&["--rev=1", "k2"]);
    let g = e.grpc();
    let (key, range_end) = prefix("k");
    let from_2 = pb::WatchCreateRequest {
        key,
        range_end,
        start_revision: 2,
        ..Default::default()
    };
    let mut stream = g.rt.block_on(g.watch(pb::WatchCreateRequest {
        prev_kv: true,
        ..from_2.clone()
    }));

    // Live events, one of them a txn that writes two keys at one revision.
    k_revs.push(s.json_rev(&["put", "k3", "v3"]));
    let txn_rev =
        header_rev(&s.json_stdin(&["txn"], Some("\nput k4 v4\ndel k3\nput zz 1\n\n\n"))[0]);
    k_revs.extend([txn_rev, txn_rev]);
    k_revs.push(s.json_rev(&["del", "--prefix", "k2"]));
    k_revs.push(s.json_rev(&["put", sentinel, "sentinel"]));

    s.note("# watch --rev=1 --prefix k");
    s.watch_lines_until(&mut simple, "sentinel");
    s.note("# watch --rev=2 --prefix k --prev-kv");
    s.watch_lines_until(&mut prev, "sentinel");
    s.note("# watch --rev=2 --prefix k --prev-kv -w json");
    s.watch_json_until(&mut json, sentinel);
    // A single key has no sentinel: its three events (put, put, delete) are nine lines.
    s.note("# watch --rev=1 k2");
    s.watch_lines_count(&mut single, 9);
    drop((simple, prev, json, single));

    s.note("# gRPC watch from revision 2, prefix k, prev_kv");
    let events = g.rt.block_on(async {
        let mut events = Vec::new();
        let mut watch_id = None;
        while events.last().map(|(_, rev)| *rev) != k_revs.last().copied() {
            let r = stream.next().await;
            watch_id.get_or_insert(r.watch_id);
            events.extend(s.grpc_watch_response(&r));
        }
        stream.cancel(watch_id.unwrap()).await;
        // The cancel is confirmed by a response of its own.
        loop {
            let r = stream.next().await;
            s.grpc_watch_response(&r);
            if r.canceled || !r.events.is_empty() {
                break;
            }
        }
        events
    });
    // No gap and no duplicate: exactly one event per write under k, in revision order.
    let revs: Vec<i64> = events.iter().map(|(_, r)| *r).collect();
    assert_eq!(revs, k_revs, "grpc watch events: {events:?}");
    assert!(
        events
            .iter()
            .filter(|(t, _)| *t == EventType::Delete)
            .count()
            == 3,
        "{events:?}"
    );

    // Compaction cancels watches from below it, with the compacted revision.
    let compact = k_revs[3];
    s.ctl(&["compaction", &compact.to_string()]);
    let w = s.watch(&["--rev=2", "--prefix", "k"]);
    s.watch_end(w, false);
    let w = s.watch(&["--rev=2", "--prefix", "k", "-w", "json"]);
    s.watch_end(w, true);
    // From the compacted revision itself: history is there.
    let mut w = s.watch(&[&format!("--rev={compact}"), "--prefix", "k"]);
    s.watch_lines_until(&mut w, "sentinel");
    drop(w);
    s.note("# gRPC watch from revision 2 after compaction");
    g.rt.block_on(async {
        let mut stream = g.watch(from_2).await;
        loop {
            let r = stream.next().await;
            s.grpc_watch_response(&r);
            if r.canceled {
                break;
            }
        }
    });
    s.lines
}

/// Leases: grant (and the minimum TTL), attach, time-to-live with keys, list, keep-alive,
/// revoke (the keys go, a watch sees the deletes), expiry by itself, and the errors.
fn scenario_leases(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    let hex = |v: &Value| format!("{:016x}", v["ID"].as_i64().unwrap());
    s.ctl(&["lease", "grant", "60"]);
    let l2 = hex(&s.json(&["lease", "grant", "60"])[0]);
    s.ctl(&["put", "k1", "v", &format!("--lease={l2}")]);
    s.ctl(&["put", "k2", "v", &format!("--lease={l2}")]);
    s.ctl(&["put", "k3", "not leased"]);
    s.ctl(&["lease", "timetolive", &l2]);
    s.ctl(&["lease", "timetolive", &l2, "--keys"]);
    s.json(&["lease", "timetolive", &l2, "--keys"]);
    s.ctl(&["lease", "list"]);
    s.json(&["lease", "list"]);
    s.ctl(&["lease", "keep-alive", "--once", &l2]);
    s.json(&["lease", "keep-alive", "--once", &l2]);
    // etcd's minimum TTL is 2 s with the default election timeout: 1 is granted as 2.
    let one = hex(&s.json(&["lease", "grant", "1"])[0]);

    // Revoking deletes the attached keys in one revision; a watch sees both deletes.
    let current = s.json_rev(&["get", "k1"]);
    let mut w = s.watch(&["--prefix", "k", &format!("--rev={}", current + 1)]);
    s.ctl(&["lease", "revoke", &l2]);
    s.ctl(&["put", "kz", "sentinel"]);
    s.note("# watch --prefix k from after the puts");
    s.watch_lines_until(&mut w, "sentinel");
    drop(w);
    s.json(&["get", "--prefix", "k"]);
    s.ctl(&["lease", "timetolive", &l2, "--keys"]);
    s.json(&["lease", "timetolive", &l2]);
    s.ctl(&["lease", "revoke", &l2]);
    s.ctl(&["lease", "revoke", "1234abcd"]);
    s.ctl(&["lease", "keep-alive", "--once", "1234abcd"]);
    s.ctl(&["lease", "timetolive", "1234abcd"]);

    // A short lease expires by itself and takes its key along. 4 s, not the 2 s minimum: the
    // put that attaches the key must come before expiry even on a loaded CI machine.
    let short = hex(&s.json(&["lease", "grant", "4"])[0]);
    s.ctl(&["put", "e", "expires", &format!("--lease={short}")]);
    // Expired leases are revoked concurrently: wait for both short leases to be gone, so that
    // what follows does not depend on timing.
    wait_until("the short leases to expire", READY_TIMEOUT, || {
        let o = e.etcdctl(&["get", "e"]).output().unwrap();
        let gone = |l: &str| {
            let o = e.etcdctl(&["lease", "timetolive", l]).output().unwrap();
            util::stdout(&o).contains("already expired")
        };
        (o.status.success() && o.stdout.is_empty() && gone(&short) && gone(&one)).then_some(())
    });
    s.json(&["get", "e"]);
    s.ctl(&["lease", "timetolive", &short, "--keys"]);
    s.json(&["lease", "list"]);

    let g = e.grpc();
    g.rt.block_on(async {
        let mut lease = g.lease();
        for (what, ttl, id) in [
            ("lease grant 30 id 0x1234", 30, 0x1234),
            ("lease grant 30 id 0x1234 again", 30, 0x1234),
            ("lease grant 9000000001", 9_000_000_001, 0),
        ] {
            let r = call(lease.lease_grant(pb::LeaseGrantRequest { ttl, id })).await;
            s.grpc(what, r, |_, r| {
                format!(
                    "rev={} id={:#x} ttl={} error={:?}",
                    rev(r.header),
                    r.id,
                    r.ttl,
                    r.error
                )
            });
        }
        for id in [0x4321, 0x1234] {
            let r = call(lease.lease_revoke(pb::LeaseRevokeRequest { id })).await;
            s.grpc(&format!("lease revoke {id:#x}"), r, |_, r| {
                format!("rev={}", rev(r.header))
            });
        }
        let r = call(lease.lease_leases(pb::LeaseLeasesRequest {})).await;
        s.grpc("leases", r, |s, r| {
            let ids: Vec<String> = r
                .leases
                .iter()
                .map(|l| s.ids.label("ID", l.id as u64))
                .collect();
            format!("rev={} [{}]", rev(r.header), ids.join(" "))
        });
    });
    s.lines
}

/// Cluster-level views: endpoint status and health, member list, on a fresh store.
fn scenario_status(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    s.json(&["endpoint", "status"]);
    s.json(&["get", "--prefix", ""]);
    s.json(&["put", "a", "1"]);
    s.json(&["endpoint", "status"]);
    s.ctl(&["endpoint", "health"]);
    s.json(&["endpoint", "health"]);
    s.json(&["member", "list"]);
    let status = s.json(&["endpoint", "status"]);
    let st = &status[0][0]["Status"];
    assert_eq!(
        st["leader"], st["header"]["member_id"],
        "a single member leads"
    );
    assert!(st["version"].is_string() && st["dbSize"].is_u64(), "{st}");
    let members = s.json(&["member", "list"]);
    let m = &members[0]["members"];
    assert_eq!(m.as_array().map(Vec::len), Some(1), "{m}");
    assert_eq!(
        m[0]["clientURLs"][0],
        format!("https://127.0.0.1:{}", e.client_port()).as_str()
    );
    s.lines
}

/// Request validation over gRPC: code and message of each refusal.
fn scenario_grpc_errors(e: &Etcd) -> Vec<String> {
    let mut s = Session::new(e);
    s.ctl(&["put", "a", "1"]);
    let g = e.grpc();
    g.rt.block_on(async {
        let mut kv = g.kv();
        let gets = |n: usize| -> Vec<pb::RequestOp> {
            (0..n).map(|i| op_get(get(&format!("g{i}")))).collect()
        };
        let summary = |r: pb::TxnResponse| {
            format!(
                "rev={} succeeded={} responses={}",
                rev(r.header),
                r.succeeded,
                r.responses.len()
            )
        };
        for (what, success, failure) in [
            ("txn with 128 ops", gets(128), vec![]),
            ("txn with 129 ops", gets(129), vec![]),
            ("txn with 64 then-ops and 65 else-ops", gets(64), gets(65)),
            ("txn with 129 else-ops", vec![], gets(129)),
        ] {
            let txn = pb::TxnRequest {
                success,
                failure,
                ..Default::default()
            };
            let r = call(kv.txn(txn)).await;
            s.grpc(what, r, |_, r| summary(r));
        }
        let (x, x_end) = prefix("x/");
        for (what, success) in [
            (
                "txn putting x twice",
                vec![op_put(put("x", "1")), op_put(put("x", "2"))],
            ),
            (
                "txn putting x/1 and deleting prefix x/",
                vec![
                    op_put(put("x/1", "1")),
                    op_del(pb::DeleteRangeRequest {
                        key: x,
                        range_end: x_end,
                        prev_kv: false,
                    }),
                ],
            ),
            (
                "txn reading x twice",
                vec![op_get(get("x")), op_get(get("x"))],
            ),
        ] {
            let txn = pb::TxnRequest {
                success,
                ..Default::default()
            };
            let r = call(kv.txn(txn)).await;
            s.grpc(what, r, |s, r| s.txn_response(&r));
        }
        let r = call(kv.range(get(""))).await;
        s.grpc("get empty key", r, |s, r| s.get_response(&r));
        let r = call(kv.put(put("", "v"))).await;
        s.grpc("put empty key", r, |s, r| s.put_response(&r));
        let r = call(kv.delete_range(pb::DeleteRangeRequest::default())).await;
        s.grpc("delete empty key", r, |s, r| s.delete_response(&r));
        let req = pb::PutRequest {
            lease: 99,
            ..put("a", "v")
        };
        let r = call(kv.put(req)).await;
        s.grpc("put with lease 99 (none)", r, |s, r| s.put_response(&r));
        let req = pb::RangeRequest {
            revision: 50,
            ..get("a")
        };
        let r = call(kv.range(req)).await;
        s.grpc("get at revision 50", r, |s, r| s.get_response(&r));
        let req = pb::DeleteRangeRequest {
            key: b"a".to_vec(),
            range_end: b"b".to_vec(),
            prev_kv: true,
        };
        let r = call(kv.delete_range(req)).await;
        s.grpc("delete [a, b) prev_kv", r, |s, r| s.delete_response(&r));
    });
    s.lines
}

// ---------------------------------------------------------------------------------------------
// Tests: one per scenario.
// ---------------------------------------------------------------------------------------------

#[test]
fn kv_reads_match_etcd() {
    conformance("kv_reads_match_etcd", scenario_kv_reads);
}

#[test]
fn put_flags_match_etcd() {
    conformance("put_flags_match_etcd", scenario_put_flags);
}

#[test]
fn deletes_match_etcd() {
    conformance("deletes_match_etcd", scenario_delete);
}

#[test]
fn txns_match_etcd() {
    conformance("txns_match_etcd", scenario_txn);
}

#[test]
fn compaction_matches_etcd() {
    conformance("compaction_matches_etcd", scenario_compaction);
}

#[test]
fn watches_match_etcd() {
    conformance("watches_match_etcd", scenario_watch);
}

#[test]
fn leases_match_etcd() {
    conformance("leases_match_etcd", scenario_leases);
}

#[test]
fn status_and_members_match_etcd() {
    conformance("status_and_members_match_etcd", scenario_status);
}

#[test]
fn grpc_errors_match_etcd() {
    conformance("grpc_errors_match_etcd", scenario_grpc_errors);
}
