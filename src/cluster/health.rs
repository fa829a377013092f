//! What an attached cluster reveals about its control plane, for the six panes' places in
//! attach mode: the apiserver's version and `/readyz?verbose` and `/livez` checks (etcd's
//! among them), the leader Leases of controller-manager and scheduler, each node's Ready
//! condition, kubelet version and Lease, and kube-proxy's pods. What a cluster does not show
//! (managed control planes hide most) is said as such, never guessed.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ListParams, LogParams};

/// One readiness check, as `/readyz?verbose` lists it (`[+]etcd ok`, `[-]etcd failed: …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
}

/// A leader Lease: who holds it and how long ago it was renewed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leader {
    pub holder: String,
    pub renewed_secs_ago: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeHealth {
    pub name: String,
    pub ready: bool,
    pub kubelet: String,
    pub lease_secs_ago: Option<i64>,
}

/// A component's pod in kube-system: kubeadm's static pods of the control plane (labelled
/// `component=etcd|kube-apiserver|kube-controller-manager|kube-scheduler`) and kube-proxy's
/// DaemonSet pods, with the last lines of their log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemPod {
    /// The `component` label (`kube-proxy` for kube-proxy's pods).
    pub component: String,
    pub name: String,
    pub node: String,
    pub phase: String,
    /// The newest lines of its log, or one line saying why there are none.
    pub log: Vec<String>,
}

/// Lines of each component pod's log shown in its section.
pub const LOG_TAIL: i64 = 3;

/// One look at the control plane; each part is Err with what the cluster answered instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    pub version: Result<String, String>,
    pub readyz: Result<Vec<Check>, String>,
    pub livez: Result<bool, String>,
    pub controller_manager: Result<Option<Leader>, String>,
    pub scheduler: Result<Option<Leader>, String>,
    pub nodes: Result<Vec<NodeHealth>, String>,
    pub proxies: Result<Vec<SystemPod>, String>,
    /// The control plane's static pods, on clusters that have them (kubeadm, kind).
    pub static_pods: Result<Vec<SystemPod>, String>,
}

/// How often attach mode looks again (these are single small requests, not lists to watch).
pub const EVERY: Duration = Duration::from_secs(5);

fn message(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        e => e.to_string(),
    }
}

/// The checks of a `/readyz?verbose` or `/livez?verbose` answer.
pub fn parse_checks(text: &str) -> Vec<Check> {
    text.lines()
        .filter_map(|l| {
            let (ok, rest) = if let Some(r) = l.strip_prefix("[+]") {
                (true, r)
            } else {
                (false, l.strip_prefix("[-]")?)
            };
            let name = rest.split_whitespace().next()?.to_string();
            Some(Check { name, ok })
        })
        .collect()
}

async fn text(client: &kube::Client, path: &str) -> Result<String, String> {
    let request = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    client.request_text(request).await.map_err(message)
}

fn age(t: Option<Timestamp>, now: Timestamp) -> Option<i64> {
    t.map(|t| now.duration_since(t).as_secs())
}

async fn leader(
    client: &kube::Client,
    name: &str,
    now: Timestamp,
) -> Result<Option<Leader>, String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let lease = leases.get_opt(name).await.map_err(message)?;
    Ok(lease.and_then(|l| l.spec).map(|s| Leader {
        holder: s.holder_identity.unwrap_or_default(),
        renewed_secs_ago: age(s.renew_time.map(|t| t.0), now),
    }))
}

async fn nodes(client: &kube::Client, now: Timestamp) -> Result<Vec<NodeHealth>, String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let leases = leases
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let list = nodes.list(&ListParams::default()).await.map_err(message)?;
    Ok(list
        .items
        .into_iter()
        .map(|n| {
            let name = n.metadata.name.clone().unwrap_or_default();
            let status = n.status.unwrap_or_default();
            let ready = status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            let lease = leases
                .iter()
                .find(|l| l.metadata.name.as_deref() == Some(&name));
            NodeHealth {
                kubelet: status
                    .node_info
                    .map(|i| i.kubelet_version)
                    .unwrap_or_default(),
                lease_secs_ago: age(
                    lease
                        .and_then(|l| l.spec.as_ref()?.renew_time.as_ref())
                        .map(|t| t.0),
                    now,
                ),
                name,
                ready,
            }
        })
        .collect())
}

async fn proxies(client: &kube::Client) -> Result<Vec<SystemPod>, String> {
    system_pods(client, "k8s-app=kube-proxy").await
}

async fn static_pods(client: &kube::Client) -> Result<Vec<SystemPod>, String> {
    system_pods(
        client,
        "component in (etcd,kube-apiserver,kube-controller-manager,kube-scheduler)",
    )
    .await
}

/// The kube-system pods `selector` picks, each with the tail of its log.
async fn system_pods(client: &kube::Client, selector: &str) -> Result<Vec<SystemPod>, String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let list = pods
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(message)?;
    let looks = list.items.into_iter().map(|p| {
        let pods = pods.clone();
        async move {
            let name = p.metadata.name.clone().unwrap_or_default();
            let params = LogParams {
                tail_lines: Some(LOG_TAIL),
                ..LogParams::default()
            };
            let log = match pods.logs(&name, &params).await {
                Ok(text) => text.lines().map(str::to_string).collect(),
                Err(e) => vec![format!("no log: {}", message(e))],
            };
            let labels = p.metadata.labels.unwrap_or_default();
            SystemPod {
                component: labels
                    .get("component")
                    .or(labels.get("k8s-app"))
                    .cloned()
                    .unwrap_or_default(),
                name,
                node: p.spec.and_then(|s| s.node_name).unwrap_or_default(),
                phase: p.status.and_then(|s| s.phase).unwrap_or_default(),
                log,
            }
        }
    });
    let mut found = futures::future::join_all(looks).await;
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// A look that got no answer: every part says why.
pub fn unreachable(why: &str) -> Health {
    let why = why.to_string();
    Health {
        version: Err(why.clone()),
        readyz: Err(why.clone()),
        livez: Err(why.clone()),
        controller_manager: Err(why.clone()),
        scheduler: Err(why.clone()),
        nodes: Err(why.clone()),
        proxies: Err(why.clone()),
        static_pods: Err(why),
    }
}

/// [`probe`], given at most `limit`: a cluster that does not answer (a dead link, a frozen
/// server) is reported as unreachable instead of waiting for TCP to give up.
pub async fn probe_within(client: &kube::Client, limit: Duration) -> Health {
    tokio::time::timeout(limit, probe(client))
        .await
        .unwrap_or_else(|_| unreachable(&format!("no answer within {} s", limit.as_secs())))
}

/// Looks at the control plane once.
pub async fn probe(client: &kube::Client) -> Health {
    let now = Timestamp::now();
    let (version, readyz, livez, controller_manager, scheduler, nodes, proxies, static_pods) = tokio::join!(
        async {
            client
                .apiserver_version()
                .await
                .map(|v| v.git_version)
                .map_err(message)
        },
        async {
            text(client, "/readyz?verbose")
                .await
                .map(|t| parse_checks(&t))
        },
        async { text(client, "/livez").await.map(|t| t.trim() == "ok") },
        leader(client, "kube-controller-manager", now),
        leader(client, "kube-scheduler", now),
        nodes(client, now),
        proxies(client),
        static_pods(client),
    );
    Health {
        version,
        readyz,
        livez,
        controller_manager,
        scheduler,
        nodes,
        proxies,
        static_pods,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readyz_verbose_lists_its_checks() {
        let text = "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]poststarthook/start-informers ok\nreadyz check failed\n";
        let checks = parse_checks(text);
        assert_eq!(checks.len(), 4);
        assert_eq!(
            checks[2],
            Check {
                name: "etcd".into(),
                ok: false
            }
        );
        assert_eq!(checks[3].name, "poststarthook/start-informers");
    }
}
