//! The Node a kubelet registers and the status it keeps: capacity from the host, addresses,
//! nodeInfo, and the Ready and pressure conditions.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeSpec, NodeStatus,
    NodeSystemInfo, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

/// Pods a node takes, as upstream's default maxPods.
pub const MAX_PODS: u32 = 110;

/// What the kubelet knows about its host and itself.
#[derive(Clone, Debug)]
pub struct Host {
    pub name: String,
    pub ip: String,
    pub cpus: usize,
    pub memory_kib: u64,
    pub port: u16,
    pub pod_cidr: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Registered with the Node (`--register-with-taints`), e.g. the control-plane taint.
    pub taints: Vec<Taint>,
    pub kernel: String,
    pub boot_id: String,
}

impl Host {
    /// This machine, as Linux reports it.
    pub fn detect(name: &str, ip: &str, port: u16, pod_cidr: Option<String>) -> Host {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let memory_kib = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        Host {
            name: name.into(),
            ip: ip.into(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_kib,
            port,
            pod_cidr,
            labels: BTreeMap::new(),
            taints: Vec::new(),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            boot_id: read("/proc/sys/kernel/random/boot_id").trim().to_string(),
        }
    }
}

/// Go's GOARCH for this machine, as node labels and nodeInfo spell it.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, now: &Time) -> NodeCondition {
    NodeCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now.clone()),
    }
}

/// The conditions of a healthy node; transition times are kept from `previous` when the
/// status did not change.
pub fn conditions(previous: Option<&NodeStatus>, now: Timestamp) -> Vec<NodeCondition> {
    let now = Time(Timestamp::from_second(now.as_second()).unwrap_or(now));
    let fresh = [
        condition(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
            &now,
        ),
        condition(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
            &now,
        ),
        condition(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
            &now,
        ),
        condition(
            "Ready",
            "True",
            "KubeletReady",
            "kubelet is posting ready status",
            &now,
        ),
    ];
    fresh
        .into_iter()
        .map(|mut c| {
            let before = previous
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|p| p.type_ == c.type_));
            if let Some(before) = before.filter(|b| b.status == c.status) {
                c.last_transition_time = before.last_transition_time.clone();
            }
            c
        })
        .collect()
}

/// The node's status: capacity, addresses, nodeInfo and conditions.
pub fn status(host: &Host, previous: Option<&NodeStatus>, now: Timestamp) -> NodeStatus {
    let capacity = BTreeMap::from([
        ("cpu".to_string(), Quantity(host.cpus.to_string())),
        (
            "memory".to_string(),
            Quantity(format!("{}Ki", host.memory_kib)),
        ),
        ("pods".to_string(), Quantity(MAX_PODS.to_string())),
    ]);
    NodeStatus {
        allocatable: Some(capacity.clone()),
        capacity: Some(capacity),
        addresses: Some(vec![
            NodeAddress {
                type_: "InternalIP".into(),
                address: host.ip.clone(),
            },
            NodeAddress {
                type_: "Hostname".into(),
                address: host.name.clone(),
            },
        ]),
        conditions: Some(conditions(previous, now)),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint {
                port: i32::from(host.port),
            }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: arch().into(),
            boot_id: host.boot_id.clone(),
            container_runtime_version: "sim://kwb".into(),
            kernel_version: host.kernel.clone(),
            kube_proxy_version: crate::apiserver::git_version(),
            kubelet_version: crate::apiserver::git_version(),
            machine_id: host.name.clone(),
            operating_system: std::env::consts::OS.into(),
            os_image: "kwb simulated runtime".into(),
            system_uuid: host.boot_id.clone(),
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    }
}

/// A taint as `--register-with-taints` takes it: `key=value:Effect` or `key:Effect`.
pub fn parse_taint(s: &str) -> Result<Taint, String> {
    let (kv, effect) = s.rsplit_once(':').ok_or_else(|| {
        format!("taint {s:?}: write key=value:Effect, e.g. dedicated=demo:NoSchedule")
    })?;
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(format!(
            "taint {s:?}: effect {effect:?} is not NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    if key.is_empty() {
        return Err(format!("taint {s:?}: the key is empty"));
    }
    Ok(Taint {
        key: key.into(),
        value: (!value.is_empty()).then(|| value.into()),
        effect: effect.into(),
        time_added: None,
    })
}

/// The Node object to register.
pub fn node(host: &Host, now: Timestamp) -> Node {
    let mut labels = BTreeMap::from([
        ("kubernetes.io/hostname".to_string(), host.name.clone()),
        (
            "kubernetes.io/os".to_string(),
            std::env::consts::OS.to_string(),
        ),
        ("kubernetes.io/arch".to_string(), arch().to_string()),
        (
            "beta.kubernetes.io/os".to_string(),
            std::env::consts::OS.to_string(),
        ),
        ("beta.kubernetes.io/arch".to_string(), arch().to_string()),
    ]);
    labels.extend(host.labels.clone());
    Node {
        metadata: ObjectMeta {
            name: Some(host.name.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: host.pod_cidr.clone(),
            pod_cidrs: host.pod_cidr.clone().map(|c| vec![c]),
            taints: (!host.taints.is_empty()).then(|| host.taints.clone()),
            ..NodeSpec::default()
        }),
        status: Some(status(host, None, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host {
            name: "kwb-node".into(),
            ip: "127.0.0.1".into(),
            cpus: 4,
            memory_kib: 8_000_000,
            port: 10250,
            pod_cidr: Some("127.244.0.0/24".into()),
            labels: BTreeMap::new(),
            taints: vec![parse_taint("node-role.kubernetes.io/control-plane:NoSchedule").unwrap()],
            kernel: "6.1".into(),
            boot_id: "b".into(),
        }
    }

    #[test]
    fn a_registered_node_says_what_it_has_and_that_it_is_ready() {
        let n = node(&host(), Timestamp::from_second(1_700_000_000).unwrap());
        let labels = n.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["kubernetes.io/hostname"], "kwb-node");
        assert_eq!(
            n.spec.as_ref().unwrap().pod_cidr.as_deref(),
            Some("127.244.0.0/24")
        );
        let taints = n.spec.as_ref().unwrap().taints.clone().unwrap();
        assert_eq!(
            (
                taints[0].key.as_str(),
                taints[0].value.as_deref(),
                taints[0].effect.as_str()
            ),
            ("node-role.kubernetes.io/control-plane", None, "NoSchedule")
        );
        assert_eq!(
            parse_taint("a=b:NoExecute").unwrap().value.as_deref(),
            Some("b")
        );
        assert!(
            parse_taint("a=b:Sometimes")
                .unwrap_err()
                .contains("NoSchedule, PreferNoSchedule")
        );
        assert!(parse_taint("a=b").is_err());
        let s = n.status.as_ref().unwrap();
        assert_eq!(s.capacity.as_ref().unwrap()["cpu"].0, "4");
        assert_eq!(s.allocatable.as_ref().unwrap()["memory"].0, "8000000Ki");
        assert_eq!(
            s.daemon_endpoints
                .as_ref()
                .unwrap()
                .kubelet_endpoint
                .as_ref()
                .unwrap()
                .port,
            10250
        );
        let ready = s
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_deref()),
            ("True", Some("KubeletReady"))
        );
        // A later status keeps the transition time of an unchanged condition.
        let later = status(
            &host(),
            Some(s),
            Timestamp::from_second(1_700_000_100).unwrap(),
        );
        let again = later
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(again.last_transition_time, ready.last_transition_time);
        assert_ne!(again.last_heartbeat_time, ready.last_heartbeat_time);
    }
}
