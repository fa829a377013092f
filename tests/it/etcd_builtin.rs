//! The builtin etcd as a process: durability under SIGKILL, and as the supervisor's default
//! etcd backend with the cluster's TLS.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kwb::etcd::client::{Client, Tls};
use kwb::etcd::proto::etcdserverpb::{PutRequest, RangeRequest};

use crate::util::{self, TestCluster, ok, stdout, wait_until};

fn start(dir: &std::path::Path, port: u16) -> Child {
    Command::new(util::KWB)
        .args(["component", "etcd", "--data-dir"])
        .arg(dir)
        .arg(format!("--listen-client-urls=http://127.0.0.1:{port}"))
        .arg(format!("--advertise-client-urls=http://127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn connect(port: u16) -> Client {
    let url = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match Client::connect(&url, &Tls::default()).await {
            Ok(c) => return c,
            Err(e) if std::time::Instant::now() > deadline => {
                panic!("builtin etcd never answered: {e:#}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Writers put unique keys as fast as they can; the server is SIGKILLed mid-stream. After a
/// restart every acknowledged put is there with the revision it was acknowledged at, and the
/// revision keeps counting up from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let port = util::free_port();
    let mut server = start(dir.path(), port);
    let client = connect(port).await;
    let acked: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let mut c = client.clone();
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("/crash/{w}/{n}");
                let put = PutRequest {
                    key: key.clone().into_bytes(),
                    value: key.clone().into_bytes(),
                    ..Default::default()
                };
                match c.kv.put(put).await {
                    Ok(r) => acked
                        .lock()
                        .unwrap()
                        .push((key, r.into_inner().header.unwrap().revision)),
                    Err(_) => break,
                }
            }
        }));
    }
    wait_until(
        "a few hundred acknowledged writes",
        Duration::from_secs(30),
        || (acked.lock().unwrap().len() >= 300).then_some(()),
    );
    server.kill().unwrap(); // SIGKILL: no shutdown path runs
    server.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let max_rev = acked.iter().map(|(_, r)| *r).max().unwrap();

    let mut server = start(dir.path(), port);
    let mut c = connect(port).await;
    for (key, rev) in &acked {
        let r =
            c.kv.range(RangeRequest {
                key: key.clone().into_bytes(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.kvs.len(),
            1,
            "acknowledged write {key} at revision {rev} is lost"
        );
        assert_eq!(r.kvs[0].mod_revision, *rev, "{key}");
        assert_eq!(r.kvs[0].value, key.as_bytes());
    }
    let next =
        c.kv.put(PutRequest {
            key: b"/after".to_vec(),
            value: b"x".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(next.header.unwrap().revision > max_rev);
    eprintln!(
        "{} acknowledged writes checked after SIGKILL, highest revision {max_rev}",
        acked.len()
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

/// With no backend configured, etcd is the builtin one: the supervisor starts it with the
/// cluster's TLS, its probe passes, and etcdctl with the apiserver's client cert works.
#[test]
fn the_supervisor_runs_the_builtin_etcd_by_default() {
    if !util::require("etcdctl", "the_supervisor_runs_the_builtin_etcd_by_default") {
        return;
    }
    let tc = TestCluster::new(false);
    ok(
        tc.run(&["up", "--detach", "--no-start"]),
        "kwb up --detach --no-start",
    );
    let start = ok(tc.run(&["start", "etcd"]), "kwb start etcd");
    assert!(stdout(&start).contains("etcd: ready"), "{}", stdout(&start));
    let status = stdout(&ok(tc.run(&["status"]), "kwb status"));
    assert!(
        status.contains("builtin") && status.contains("GET /health 200"),
        "{status}"
    );
    ok(tc.etcdctl(&["put", "/kwb/x", "1"]), "etcdctl put");
    let get = ok(
        tc.etcdctl(&["get", "/kwb/x", "--print-value-only"]),
        "etcdctl get",
    );
    assert_eq!(stdout(&get).trim(), "1");
    let logs = stdout(&ok(tc.run(&["logs", "etcd"]), "kwb logs etcd"));
    assert!(logs.contains("serving client traffic securely"), "{logs}");
    ok(tc.run(&["down"]), "kwb down");
}

/// A builtin etcd over TLS with client certificates, as kwb runs it, and etcdctl for it.
struct TlsEtcd {
    child: Child,
    port: u16,
    pki: std::path::PathBuf,
}

impl TlsEtcd {
    fn start(dir: &std::path::Path, extra: &[&str]) -> TlsEtcd {
        let data = kwb::layout::DataDir::new(dir.join("cluster"));
        data.create().unwrap();
        kwb::pki::ensure(
            &data,
            &kwb::pki::PkiSpec {
                cluster_name: "t".into(),
                apiserver_url: "https://127.0.0.1:1".into(),
                kubernetes_service_ip: "127.96.0.1".parse().unwrap(),
                node_names: vec!["t-control-plane".into()],
            },
        )
        .unwrap();
        let pki = data.pki_dir();
        let port = util::free_port();
        let url = format!("https://127.0.0.1:{port}");
        let child = Command::new(util::KWB)
            .args(["component", "etcd", "--data-dir"])
            .arg(dir.join("etcd"))
            .arg(format!("--listen-client-urls={url}"))
            .arg(format!("--advertise-client-urls={url}"))
            .arg(format!(
                "--cert-file={}",
                pki.join("etcd-server.crt").display()
            ))
            .arg(format!(
                "--key-file={}",
                pki.join("etcd-server.key").display()
            ))
            .arg(format!(
                "--trusted-ca-file={}",
                pki.join("ca.crt").display()
            ))
            .arg("--client-cert-auth=true")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let e = TlsEtcd { child, port, pki };
        wait_until("the builtin etcd over TLS", Duration::from_secs(20), || {
            e.ctl(&["endpoint", "health"])
                .status
                .success()
                .then_some(())
        });
        e
    }

    fn ctl(&self, args: &[&str]) -> std::process::Output {
        let url = format!("https://127.0.0.1:{}", self.port);
        util::etcdctl(&url, Some(&self.pki), args).output().unwrap()
    }
}

impl Drop for TlsEtcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn etcdctl(port: u16, args: &[&str]) -> std::process::Output {
    util::etcdctl(&format!("http://127.0.0.1:{port}"), None, args)
        .output()
        .unwrap()
}

fn start_with(dir: &std::path::Path, port: u16, extra: &[&str]) -> Child {
    Command::new(util::KWB)
        .args(["component", "etcd", "--data-dir"])
        .arg(dir)
        .arg(format!("--listen-client-urls=http://127.0.0.1:{port}"))
        .arg(format!("--advertise-client-urls=http://127.0.0.1:{port}"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Past --quota-backend-bytes writes are refused with etcd's NOSPACE alarm; deletes still
/// work; compaction and defragmentation shrink the file; disarming the alarm allows writes.
#[test]
fn the_space_quota_raises_nospace_until_disarmed() {
    if !util::require("etcdctl", "the_space_quota_raises_nospace_until_disarmed") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let e = TlsEtcd::start(dir.path(), &["--quota-backend-bytes=4000000"]);
    let big = "x".repeat(100_000);
    let mut refused = None;
    for i in 0..200 {
        let o = e.ctl(&["put", &format!("/big/{i}"), &big]);
        if !o.status.success() {
            refused = Some(util::stderr(&o));
            break;
        }
    }
    let refused = refused.expect("writes past the quota are refused");
    assert!(
        refused.contains("etcdserver: mvcc: database space exceeded"),
        "{refused}"
    );
    let alarms = util::stdout(&ok(e.ctl(&["alarm", "list"]), "alarm list"));
    assert!(alarms.contains("alarm:NOSPACE"), "{alarms}");
    let status = util::stdout(&ok(e.ctl(&["endpoint", "status"]), "endpoint status"));
    assert!(status.contains("alarm:NOSPACE"), "{status}");
    // Freeing space: delete, compact, defragment; the alarm stays until disarmed.
    ok(e.ctl(&["del", "--prefix", "/big/"]), "del");
    let rev: i64 = {
        let o = ok(e.ctl(&["get", "x", "-w", "json"]), "get rev");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["header"]["revision"].as_i64().unwrap()
    };
    ok(e.ctl(&["compaction", &rev.to_string()]), "compaction");
    let db = dir.path().join("etcd/kwb-etcd.redb");
    let size_before = std::fs::metadata(&db).unwrap().len();
    ok(e.ctl(&["defrag"]), "defrag");
    let size_after = std::fs::metadata(&db).unwrap().len();
    assert!(
        size_after < size_before,
        "defrag shrinks the file: {size_before} -> {size_after}"
    );
    assert!(
        !e.ctl(&["put", "small", "1"]).status.success(),
        "still armed"
    );
    ok(e.ctl(&["alarm", "disarm"]), "alarm disarm");
    ok(e.ctl(&["put", "small", "1"]), "put after disarm");
}

/// A watch created with `fragment` receives a large batch split into responses no larger
/// than --max-request-bytes, all but the last marked as fragments.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_watch_batches_are_fragmented_when_asked() {
    use kwb::etcd::proto::etcdserverpb::{WatchCreateRequest, WatchRequest, watch_request};
    use tokio_stream::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let port = util::free_port();
    let mut server = start_with(dir.path(), port, &["--max-request-bytes=20000"]);
    let mut c = connect(port).await;
    // History of 8 revisions × 5 kB: replayed as one batch of 40 kB, twice the limit.
    for i in 0..8 {
        c.kv.put(PutRequest {
            key: format!("/f/{i}").into_bytes(),
            value: vec![b'v'; 5000],
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(WatchRequest {
        request_union: Some(watch_request::RequestUnion::CreateRequest(
            WatchCreateRequest {
                key: b"/f/".to_vec(),
                range_end: b"/f0".to_vec(),
                start_revision: 1,
                fragment: true,
                ..Default::default()
            },
        )),
    })
    .await
    .unwrap();
    let mut stream = c
        .watch
        .watch(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.next().await.unwrap().unwrap().created);
    let mut got = 0;
    let mut responses = Vec::new();
    while got < 8 {
        let r = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        got += r.events.len();
        responses.push((r.fragment, r.events.len()));
    }
    assert!(responses.len() >= 2, "{responses:?}");
    let (last, rest) = responses.split_last().unwrap();
    assert!(!last.0 && rest.iter().all(|(f, _)| *f), "{responses:?}");
    drop(tx);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// etcdctl's own performance check, with the small load, runs its whole workload against
/// the builtin etcd (leases, puts, ranges, compaction) and its throughput and spread pass.
/// Its slowest-request limit (0.5 s) is a latency figure that a CI machine running the
/// other tests' clusters on two cores can miss through no fault of the server: that one is
/// reported, not asserted (latency belongs to `kwb bench etcd`, not to a test).
#[test]
fn etcdctl_check_perf_passes() {
    if !util::require("etcdctl", "etcdctl_check_perf_passes") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = util::free_port();
    let mut server = start_with(dir.path(), port, &[]);
    wait_until("the builtin etcd", Duration::from_secs(20), || {
        etcdctl(port, &["endpoint", "health"])
            .status
            .success()
            .then_some(())
    });
    let o = etcdctl(port, &["check", "perf", "--load=s"]);
    let out = util::stdout(&o);
    let summary: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("PASS") || l.contains("FAIL"))
        .collect();
    eprintln!("etcdctl check perf --load=s: {summary:?}");
    let only_latency_missed = out.contains("Slowest request took too long")
        && !out.contains("FAIL:")
        && out.contains("PASS: Throughput is")
        && out.contains("PASS: Stddev is");
    if only_latency_missed {
        eprintln!("etcdctl check perf: only the slowest-request limit was missed (machine load)");
    }
    assert!(
        (o.status.success() && out.trim_end().ends_with("PASS")) || only_latency_missed,
        "{out}\n{}",
        util::stderr(&o)
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

/// --auto-compaction-mode=periodic with a retention of 1 s: history older than that is
/// compacted away by itself (etcd takes Go durations, or hours as a bare number).
#[test]
fn periodic_auto_compaction_compacts_old_history() {
    if !util::require("etcdctl", "periodic_auto_compaction_compacts_old_history") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let e = TlsEtcd::start(
        dir.path(),
        &[
            "--auto-compaction-mode=periodic",
            "--auto-compaction-retention=1s",
        ],
    );
    ok(e.ctl(&["put", "k", "1"]), "put");
    ok(e.ctl(&["put", "k", "2"]), "put");
    let err = wait_until(
        "revision 2 to be compacted",
        Duration::from_secs(20),
        || {
            // Keep writing so there is newer history to keep.
            ok(e.ctl(&["put", "k", "more"]), "put");
            let o = e.ctl(&["get", "k", "--rev=2"]);
            (!o.status.success()).then(|| util::stderr(&o))
        },
    );
    assert!(
        err.contains("required revision has been compacted"),
        "{err}"
    );
    let now = ok(e.ctl(&["get", "k", "--print-value-only"]), "get");
    assert_eq!(util::stdout(&now).trim(), "more");
}
