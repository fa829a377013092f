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
