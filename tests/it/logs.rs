//! `kubectl logs` through the builtin apiserver: the request reaches the node's kubelet
//! endpoint over TLS with the apiserver's kubelet client certificate, options and all, and
//! the answer streams back. The kubelet here is a minimal TLS server in the test (kwb's
//! kubelet is a later issue) that holds the node's real serving certificate from the
//! cluster PKI and requires a client certificate signed by the cluster CA.

use std::sync::Arc;

use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::apiserver::Api;
use crate::util::{self, ok, stderr, stdout};

/// Serves each GET with one line naming the path and query it got, then `log line N`.
async fn kubelet(data: &std::path::Path, node: &str) -> u16 {
    let pki = data.join("pki");
    let certs = CertificateDer::pem_file_iter(pki.join(format!("kubelet-{node}-server.crt")))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(pki.join(format!("kubelet-{node}-server.key"))).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(pki.join("ca.crt")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    |req: hyper::Request<hyper::body::Incoming>| async move {
                        let body = format!("{}\nlog line 1\nlog line 2\n", req.uri());
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(Bytes::from(body)),
                        ))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

#[test]
fn kubectl_logs_reach_the_nodes_kubelet_with_their_options() {
    if !util::require(
        "kubectl",
        "kubectl_logs_reach_the_nodes_kubelet_with_their_options",
    ) {
        return;
    }
    let api = Api::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // The node whose kubelet serving certificate the cluster PKI holds.
    let node = std::fs::read_dir(api.tc.data.join("pki"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find_map(|f| {
            Some(
                f.strip_prefix("kubelet-")?
                    .strip_suffix("-server.crt")?
                    .to_string(),
            )
        })
        .expect("a kubelet serving certificate in the PKI");
    let node = node.as_str();
    let port = rt.block_on(kubelet(&api.tc.data, node));

    let node_json =
        format!(r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"{node}"}}}}"#);
    ok(
        api.apply_stdin(&["create", "-f", "-"], &node_json),
        "create node",
    );
    let status = format!(
        r#"{{"status":{{"addresses":[{{"type":"InternalIP","address":"127.0.0.1"}}],"daemonEndpoints":{{"kubeletEndpoint":{{"Port":{port}}}}}}}}}"#
    );
    ok(
        api.kubectl(&[
            "patch",
            "node",
            node,
            "--subresource=status",
            "--type=merge",
            "-p",
            &status,
        ]),
        "node status",
    );
    let pod = format!(
        r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p1"}},"spec":{{"nodeName":"{node}","containers":[{{"name":"web","image":"nginx"}},{{"name":"side","image":"busybox"}}]}}}}"#
    );
    ok(api.apply_stdin(&["create", "-f", "-"], &pod), "create pod");

    // Not started yet: upstream's words.
    let early = api.kubectl(&["logs", "p1", "-c", "web"]);
    assert!(
        stderr(&early)
            .contains("container \"web\" in pod \"p1\" is waiting to start: ContainerCreating"),
        "{}",
        stderr(&early)
    );
    let running = r#"{"status":{"phase":"Running","containerStatuses":[{"name":"web","ready":true,"restartCount":0,"image":"nginx","imageID":"","state":{"running":{}}},{"name":"side","ready":true,"restartCount":0,"image":"busybox","imageID":"","state":{"running":{}}}]}}"#;
    ok(
        api.kubectl(&[
            "patch",
            "pod",
            "p1",
            "--subresource=status",
            "--type=merge",
            "-p",
            running,
        ]),
        "pod status",
    );

    let logs = stdout(&ok(
        api.kubectl(&[
            "logs",
            "p1",
            "-c",
            "web",
            "--tail=5",
            "--timestamps",
            "--since=1h",
        ]),
        "kubectl logs",
    ));
    let mut lines = logs.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("/containerLogs/default/p1/web?"),
        "{logs}"
    );
    for option in ["tailLines=5", "timestamps=true", "sinceSeconds=3600"] {
        assert!(first.contains(option), "{option} missing: {logs}");
    }
    assert_eq!(lines.collect::<Vec<_>>(), ["log line 1", "log line 2"]);

    // Two containers and none named: kubectl picks the default one, as upstream; asking the
    // apiserver directly without one gets upstream's refusal.
    let direct = api.curl("GET", "/api/v1/namespaces/default/pods/p1/log", None);
    assert_eq!(direct["code"], 400, "{direct}");
    assert!(
        direct["message"].as_str().unwrap_or_default().starts_with(
            "a container name must be specified for pod p1, choose one of: [web side]"
        ),
        "{direct}"
    );
    let exec = api.kubectl(&["exec", "p1", "-c", "web", "--", "true"]);
    assert!(!exec.status.success());
}
