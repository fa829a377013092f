//! The endpoints and endpointslice controllers' decisions: which addresses and ports a
//! Service's selected pods offer, as one `Endpoints` object (legacy API) and as
//! `EndpointSlice`s, and which slice writes bring the stored slices to the desired ones.
//!
//! Behaviour follows upstream 1.33 (`pkg/controller/endpoint`, `staging/src/k8s.io/
//! endpointslice`): services without a selector and ExternalName services are left alone;
//! terminal pods and pods without an IP never appear; terminating pods are left out of
//! Endpoints (unless `publishNotReadyAddresses`) but kept in slices with `terminating: true`;
//! a pod missing a named target port is published only for the ports it has, which splits
//! it into its own subset or slice.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort as CorePort, EndpointSubset, Endpoints, Node, ObjectReference,
    Pod, Service, ServicePort,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// Slice label naming the Service a slice belongs to.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Slice label naming the controller that manages it.
pub const LABEL_SLICE_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's value for [`LABEL_SLICE_MANAGED_BY`].
pub const SLICE_CONTROLLER: &str = "endpointslice-controller.k8s.io";
/// Label the endpoints controller puts on the Endpoints it writes (new in 1.33).
pub const LABEL_ENDPOINTS_MANAGED_BY: &str = "endpoints.kubernetes.io/managed-by";
/// The endpoints controller's value for [`LABEL_ENDPOINTS_MANAGED_BY`].
pub const ENDPOINTS_CONTROLLER: &str = "endpoint-controller";
/// Label on Endpoints and slices of services without a cluster IP.
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";
/// Annotation marking Endpoints cut down to [`MAX_ENDPOINTS_CAPACITY`] addresses.
pub const ANNOTATION_OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
/// How many addresses one Endpoints object holds at most.
pub const MAX_ENDPOINTS_CAPACITY: usize = 1000;
/// Upstream's default `--max-endpoints-per-slice`.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

// ---------------------------------------------------------------------------------------
// Service and pod facts shared by both controllers.

/// The selector this controller acts on, if any. An empty map counts as none: the API
/// stores selectors in protobuf, where an empty map and a missing one read back the same.
fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

/// A Service selector is a plain equality map.
fn selects(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn cluster_ip(svc: &Service) -> &str {
    svc.spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .unwrap_or("")
}

fn is_ip_set(svc: &Service) -> bool {
    let ip = cluster_ip(svc);
    !ip.is_empty() && ip != "None"
}

fn is_headless(svc: &Service) -> bool {
    cluster_ip(svc) == "None"
}

fn publish_not_ready(svc: &Service) -> bool {
    svc.spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false)
}

fn service_ports(svc: &Service) -> &[ServicePort] {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default()
}

/// The pods a service selects: same namespace, labels matching.
fn members<'a>(svc: &'a Service, pods: &'a [Pod]) -> impl Iterator<Item = &'a Pod> + 'a {
    let sel = selector(svc);
    pods.iter().filter(move |p| {
        sel.is_some_and(|sel| {
            p.metadata.namespace == svc.metadata.namespace
                && selects(sel, p.metadata.labels.as_ref())
        })
    })
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// The pod's IPs: `status.podIPs`, or `status.podIP` when a writer only set that one.
fn pod_ips(pod: &Pod) -> Vec<&str> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let listed: Vec<&str> = status
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.as_str())
        .filter(|ip| !ip.is_empty())
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    status
        .pod_ip
        .as_deref()
        .filter(|ip| !ip.is_empty())
        .into_iter()
        .collect()
}

/// Upstream's ShouldPodBeInEndpoints: never terminal pods or pods without an IP; terminating
/// pods only when asked to include them.
fn should_be_listed(pod: &Pod, include_terminating: bool) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return false;
    }
    if pod_ips(pod).is_empty() {
        return false;
    }
    include_terminating || !is_terminating(pod)
}

/// Pods of a StatefulSet-style headless service get their hostname published, but only for
/// the service named by their subdomain.
fn hostname_for(pod: &Pod, svc: &Service) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let hostname = spec.hostname.as_deref().filter(|h| !h.is_empty())?;
    let same_service = spec.subdomain.as_deref() == svc.metadata.name.as_deref()
        && pod.metadata.namespace == svc.metadata.namespace;
    same_service.then(|| hostname.to_owned())
}

/// The apiserver defaults protocols to TCP; treat a missing one the same way.
fn protocol(p: Option<&String>) -> &str {
    p.map(String::as_str).unwrap_or("TCP")
}

/// The container port a service port resolves to on this pod: a number as is, a name
/// looked up among the containers' (and restartable init containers') ports of the same
/// protocol. A missing targetPort means the service port itself (the apiserver's default).
fn find_port(pod: &Pod, sp: &ServicePort) -> Option<i32> {
    let name = match &sp.target_port {
        None => return Some(sp.port),
        Some(IntOrString::Int(n)) => return Some(*n),
        Some(IntOrString::String(name)) => name,
    };
    let want = protocol(sp.protocol.as_ref());
    let spec = pod.spec.as_ref()?;
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    spec.containers
        .iter()
        .chain(sidecars)
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| p.name.as_deref() == Some(name.as_str()) && protocol(p.protocol.as_ref()) == want)
        .map(|p| p.container_port)
}

fn is_v6(ip: &str) -> bool {
    ip.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6())
}

fn pod_ref(pod: &Pod) -> ObjectReference {
    ObjectReference {
        kind: Some("Pod".into()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        ..Default::default()
    }
}

fn node_name(pod: &Pod) -> Option<String> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty())
}

// ---------------------------------------------------------------------------------------
// Endpoints (core/v1).

/// Port identity for repacking; `None` stands for "no ports" (a headless service without
/// ports), so such addresses are kept rather than dropped.
type PortId = Option<(String, i32, String, String)>;

fn port_id(p: &CorePort) -> (String, i32, String, String) {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        protocol(p.protocol.as_ref()).to_owned(),
        p.app_protocol.clone().unwrap_or_default(),
    )
}

fn port_from_id(id: &(String, i32, String, String)) -> CorePort {
    let (name, port, proto, app) = id;
    CorePort {
        name: (!name.is_empty()).then(|| name.clone()),
        port: *port,
        protocol: Some(proto.clone()),
        app_protocol: (!app.is_empty()).then(|| app.clone()),
    }
}

/// Addresses are identified by IP and target uid: two pods may share an IP (host network)
/// and still be distinct endpoints.
type AddrKey = (String, String);

fn addr_key(a: &EndpointAddress) -> AddrKey {
    let uid = a
        .target_ref
        .as_ref()
        .and_then(|r| r.uid.clone())
        .unwrap_or_default();
    (a.ip.clone(), uid)
}

/// The IP a pod is listed under for a single-family Endpoints object: the family of the
/// service's first IP family, else of its cluster IP, else (headless) of the pod's IP.
fn endpoints_ip(svc: &Service, pod: &Pod) -> Option<String> {
    let ips = pod_ips(pod);
    let families = svc.spec.as_ref().and_then(|s| s.ip_families.as_ref());
    let want_v6 = match families.and_then(|f| f.first()) {
        Some(f) => f == "IPv6",
        None if is_ip_set(svc) => is_v6(cluster_ip(svc)),
        None => ips.first().is_some_and(|ip| is_v6(ip)),
    };
    ips.into_iter()
        .find(|ip| is_v6(ip) == want_v6)
        .map(str::to_owned)
}

/// Upstream's RepackSubsets: every (address, port) pair is regrouped so that addresses
/// offering exactly the same ports share one subset. An address not ready on any port is
/// not ready. The result is sorted so equal contents compare equal.
fn repack(entries: Vec<(EndpointAddress, PortId, bool)>) -> Vec<EndpointSubset> {
    let mut addrs: BTreeMap<AddrKey, EndpointAddress> = BTreeMap::new();
    let mut by_port: BTreeMap<PortId, BTreeMap<AddrKey, bool>> = BTreeMap::new();
    for (addr, port, ready) in entries {
        let key = addr_key(&addr);
        addrs.entry(key.clone()).or_insert(addr);
        let readiness = by_port.entry(port).or_default().entry(key).or_insert(ready);
        *readiness = *readiness && ready;
    }
    let mut by_addrs: BTreeMap<Vec<(AddrKey, bool)>, Vec<PortId>> = BTreeMap::new();
    for (port, set) in by_port {
        by_addrs
            .entry(set.into_iter().collect())
            .or_default()
            .push(port);
    }
    by_addrs
        .into_iter()
        .map(|(set, ports)| {
            let pick = |want: bool| -> Option<Vec<EndpointAddress>> {
                let list: Vec<EndpointAddress> = set
                    .iter()
                    .filter(|(_, ready)| *ready == want)
                    .filter_map(|(k, _)| addrs.get(k).cloned())
                    .collect();
                (!list.is_empty()).then_some(list)
            };
            let ports: Vec<CorePort> = ports.iter().flatten().map(port_from_id).collect();
            EndpointSubset {
                addresses: pick(true),
                not_ready_addresses: pick(false),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect()
}

/// Cut subsets down to [`MAX_ENDPOINTS_CAPACITY`] addresses, ready ones first, sharing the
/// room between subsets in proportion to their size (upstream's truncateEndpoints).
/// Whether anything was cut.
fn truncate(subsets: &mut [EndpointSubset]) -> bool {
    let count = |v: &Option<Vec<EndpointAddress>>| v.as_ref().map_or(0, Vec::len);
    let ready: usize = subsets.iter().map(|s| count(&s.addresses)).sum();
    let not_ready: usize = subsets.iter().map(|s| count(&s.not_ready_addresses)).sum();
    if ready + not_ready <= MAX_ENDPOINTS_CAPACITY {
        return false;
    }
    let cut_ready = ready > MAX_ENDPOINTS_CAPACITY;
    let (room, total) = if cut_ready {
        (MAX_ENDPOINTS_CAPACITY, ready)
    } else {
        (MAX_ENDPOINTS_CAPACITY - ready, not_ready)
    };
    let mut left = room;
    for s in subsets.iter_mut() {
        let n = if cut_ready {
            count(&s.addresses)
        } else {
            count(&s.not_ready_addresses)
        };
        // Proportional share rounded up; the last subsets absorb the rounding.
        let share = (n * room).div_ceil(total.max(1)).min(left);
        let list = if cut_ready {
            s.not_ready_addresses = None;
            &mut s.addresses
        } else {
            &mut s.not_ready_addresses
        };
        if let Some(v) = list.as_mut() {
            v.truncate(share);
            left -= v.len();
        }
        if list.as_ref().is_some_and(Vec::is_empty) {
            *list = None;
        }
    }
    true
}

/// The Endpoints object upstream's endpoints controller keeps for `svc`, or None for
/// services it leaves alone (no selector, ExternalName). `pods` may hold pods of any
/// namespace; only those the service selects count.
pub fn endpoints(svc: &Service, pods: &[Pod]) -> Option<Endpoints> {
    selector(svc)?;
    let name = svc.metadata.name.clone()?;
    let publish = publish_not_ready(svc);
    let ports = service_ports(svc);
    let mut entries = Vec::new();
    for pod in members(svc, pods) {
        if !should_be_listed(pod, publish) {
            continue;
        }
        let Some(ip) = endpoints_ip(svc, pod) else {
            continue;
        };
        let addr = EndpointAddress {
            ip,
            hostname: hostname_for(pod, svc),
            node_name: node_name(pod),
            target_ref: Some(pod_ref(pod)),
        };
        let ready = publish || is_ready(pod);
        if ports.is_empty() {
            // Only headless services may go without ports; others publish nothing.
            if is_headless(svc) {
                entries.push((addr, None, ready));
            }
            continue;
        }
        for sp in ports {
            if let Some(port) = find_port(pod, sp) {
                let p = CorePort {
                    name: sp.name.clone(),
                    port,
                    protocol: Some(protocol(sp.protocol.as_ref()).to_owned()),
                    app_protocol: sp.app_protocol.clone(),
                };
                entries.push((addr.clone(), Some(port_id(&p)), ready));
            }
        }
    }
    let mut subsets = repack(entries);
    let truncated = truncate(&mut subsets);

    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    labels.insert(
        LABEL_ENDPOINTS_MANAGED_BY.into(),
        ENDPOINTS_CONTROLLER.into(),
    );
    if is_ip_set(svc) {
        labels.remove(LABEL_HEADLESS);
    } else {
        labels.insert(LABEL_HEADLESS.into(), String::new());
    }
    let annotations = truncated
        .then(|| BTreeMap::from([(ANNOTATION_OVER_CAPACITY.to_owned(), "truncated".to_owned())]));
    Some(Endpoints {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels),
            annotations,
            ..Default::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    })
}

/// Subsets in a canonical form for comparison: target resourceVersions dropped (a pod's
/// unrelated updates must not rewrite Endpoints), empty lists as absent, everything sorted.
fn canonical_subsets(e: &Endpoints) -> Vec<String> {
    let mut out: Vec<String> = e
        .subsets
        .iter()
        .flatten()
        .map(|s| {
            let clean = |v: &Option<Vec<EndpointAddress>>| -> Vec<String> {
                let mut list: Vec<String> = v
                    .iter()
                    .flatten()
                    .map(|a| {
                        let mut a = a.clone();
                        if let Some(r) = a.target_ref.as_mut() {
                            r.resource_version = None;
                        }
                        a.node_name = a.node_name.filter(|n| !n.is_empty());
                        a.hostname = a.hostname.filter(|h| !h.is_empty());
                        serde_json::to_string(&a).unwrap_or_default()
                    })
                    .collect();
                list.sort();
                list
            };
            let mut ports: Vec<_> = s.ports.iter().flatten().map(port_id).collect();
            ports.sort();
            format!(
                "{:?}|{:?}|{:?}",
                clean(&s.addresses),
                clean(&s.not_ready_addresses),
                ports
            )
        })
        .collect();
    out.sort();
    out
}

/// What to write for a service's Endpoints: `desired` (from [`endpoints`]) against the
/// stored object. None when nothing changed; otherwise the object to create (no existing)
/// or to update (existing metadata kept, so resourceVersion guards the write). Annotations
/// other than the over-capacity one are left as they are.
pub fn endpoints_to_write(desired: &Endpoints, existing: Option<&Endpoints>) -> Option<Endpoints> {
    let Some(existing) = existing else {
        return Some(desired.clone());
    };
    let over = |e: &Endpoints| {
        e.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_OVER_CAPACITY))
            .cloned()
    };
    let labels = |e: &Endpoints| e.metadata.labels.clone().unwrap_or_default();
    if canonical_subsets(desired) == canonical_subsets(existing)
        && labels(desired) == labels(existing)
        && over(desired) == over(existing)
    {
        return None;
    }
    let mut out = existing.clone();
    out.subsets = desired.subsets.clone();
    out.metadata.labels = desired.metadata.labels.clone();
    let mut annotations = out.metadata.annotations.take().unwrap_or_default();
    match over(desired) {
        Some(v) => annotations.insert(ANNOTATION_OVER_CAPACITY.into(), v),
        None => annotations.remove(ANNOTATION_OVER_CAPACITY),
    };
    out.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Some(out)
}

/// Endpoints whose Service is gone, as (namespace, name): upstream deletes them (they carry
/// no owner reference for the garbage collector), except leader-election records.
pub fn orphaned_endpoints(all: &[Endpoints], services: &[Service]) -> Vec<(String, String)> {
    let live: BTreeSet<(Option<&str>, Option<&str>)> = services
        .iter()
        .map(|s| (s.metadata.namespace.as_deref(), s.metadata.name.as_deref()))
        .collect();
    all.iter()
        .filter(|e| {
            !e.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(LEADER_ANNOTATION))
        })
        .filter(|e| !live.contains(&(e.metadata.namespace.as_deref(), e.metadata.name.as_deref())))
        .filter_map(|e| Some((e.metadata.namespace.clone()?, e.metadata.name.clone()?)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// EndpointSlices (discovery/v1).

/// The address types a service's slices use: its IP families; without them (an older
/// apiserver) the family of its cluster IP, or both for a headless service.
fn address_types(svc: &Service) -> Vec<&'static str> {
    let families = svc.spec.as_ref().and_then(|s| s.ip_families.as_ref());
    let mut out: Vec<&'static str> = families
        .iter()
        .flat_map(|f| f.iter())
        .filter_map(|f| match f.as_str() {
            "IPv4" => Some("IPv4"),
            "IPv6" => Some("IPv6"),
            _ => None,
        })
        .collect();
    out.dedup();
    if !out.is_empty() {
        return out;
    }
    if is_ip_set(svc) {
        return vec![if is_v6(cluster_ip(svc)) {
            "IPv6"
        } else {
            "IPv4"
        }];
    }
    vec!["IPv4", "IPv6"]
}

fn slice_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    service_ports(svc)
        .iter()
        .filter_map(|sp| {
            let port = find_port(pod, sp)?;
            Some(EndpointPort {
                // Upstream always sets the name, empty when the service port has none.
                name: Some(sp.name.clone().unwrap_or_default()),
                port: Some(port),
                protocol: Some(protocol(sp.protocol.as_ref()).to_owned()),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect()
}

fn slice_endpoint(pod: &Pod, node: Option<&Node>, svc: &Service, addr_type: &str) -> Endpoint {
    let serving = is_ready(pod);
    let terminating = is_terminating(pod);
    // A terminating pod is never "ready", unless the service publishes everything.
    let ready = publish_not_ready(svc) || (serving && !terminating);
    let addresses = pod_ips(pod)
        .into_iter()
        .filter_map(|ip| ip.parse::<IpAddr>().ok())
        .filter(|ip| ip.is_ipv6() == (addr_type == "IPv6"))
        .map(|ip| ip.to_string())
        .collect();
    let zone = node
        .and_then(|n| n.metadata.labels.as_ref())
        .and_then(|l| l.get(LABEL_ZONE))
        .filter(|z| !z.is_empty())
        .cloned();
    Endpoint {
        addresses,
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: hostname_for(pod, svc),
        node_name: node_name(pod),
        target_ref: Some(pod_ref(pod)),
        zone,
        ..Default::default()
    }
}

fn service_owner(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Slice labels: the service's own (minus the reserved keys), the headless marker, the
/// service name and the manager.
fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = svc
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| {
            ![LABEL_SERVICE_NAME, LABEL_SLICE_MANAGED_BY, LABEL_HEADLESS].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !is_ip_set(svc) {
        labels.insert(LABEL_HEADLESS.into(), String::new());
    }
    labels.insert(
        LABEL_SERVICE_NAME.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(LABEL_SLICE_MANAGED_BY.into(), SLICE_CONTROLLER.into());
    labels
}

fn new_slice(
    svc: &Service,
    addr_type: &str,
    ports: Vec<EndpointPort>,
    eps: Vec<Endpoint>,
) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!(
                "{}-",
                svc.metadata.name.as_deref().unwrap_or_default()
            )),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(slice_labels(svc)),
            owner_references: Some(vec![service_owner(svc)]),
            ..Default::default()
        },
        address_type: addr_type.to_owned(),
        endpoints: eps,
        ports: Some(ports),
    }
}

fn endpoint_sort_key(e: &Endpoint) -> (Vec<String>, Option<String>) {
    (
        e.addresses.clone(),
        e.target_ref.as_ref().and_then(|r| r.name.clone()),
    )
}

/// The slices upstream's endpointslice controller wants for `svc`, as if none existed:
/// per address type, one group per distinct port set, cut into slices of at most
/// [`MAX_ENDPOINTS_PER_SLICE`]; an address type with no endpoints gets one empty
/// placeholder slice. Pods on nodes missing from `nodes` are skipped (unless the service
/// publishes not-ready addresses), as upstream does until the node shows up.
///
/// An empty result means the controller leaves this service alone (no selector,
/// ExternalName); a selecting service always gets at least a placeholder. Feed the result
/// to [`slices_to_write`] to know what to write.
pub fn endpoint_slices(svc: &Service, pods: &[Pod], nodes: &[Node]) -> Vec<EndpointSlice> {
    if selector(svc).is_none() || svc.metadata.name.is_none() {
        return Vec::new();
    }
    let nodes: BTreeMap<&str, &Node> = nodes
        .iter()
        .filter_map(|n| Some((n.metadata.name.as_deref()?, n)))
        .collect();
    let headless_no_ports = service_ports(svc).is_empty() && is_headless(svc);
    let mut out = Vec::new();
    for addr_type in address_types(svc) {
        let mut groups: BTreeMap<SlicePortKey, PortGroup> = BTreeMap::new();
        for pod in members(svc, pods) {
            if !should_be_listed(pod, true) {
                continue;
            }
            let node = node_name(pod).and_then(|n| nodes.get(n.as_str()).copied());
            if node.is_none() && !publish_not_ready(svc) {
                continue;
            }
            let ports = if headless_no_ports {
                Vec::new()
            } else {
                slice_ports(svc, pod)
            };
            let ep = slice_endpoint(pod, node, svc, addr_type);
            if ep.addresses.is_empty() {
                continue;
            }
            let key = slice_port_key(Some(&ports));
            groups
                .entry(key)
                .or_insert_with(|| (ports, Vec::new()))
                .1
                .push(ep);
        }
        if groups.is_empty() {
            out.push(new_slice(svc, addr_type, Vec::new(), Vec::new()));
            continue;
        }
        for (_, (ports, mut eps)) in groups {
            eps.sort_by_key(endpoint_sort_key);
            let mut rest = eps.as_slice();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(rest.len().min(MAX_ENDPOINTS_PER_SLICE));
                out.push(new_slice(svc, addr_type, ports.clone(), chunk.to_vec()));
                rest = tail;
            }
        }
    }
    out
}

/// Writes that bring a service's stored slices to the desired ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SliceDiff {
    /// New slices (generateName set, no name).
    pub create: Vec<EndpointSlice>,
    /// Stored slices with new contents; their metadata (name, resourceVersion) is kept so
    /// the write is a guarded replace.
    pub update: Vec<EndpointSlice>,
    /// Stored slices to delete.
    pub delete: Vec<EndpointSlice>,
}

impl SliceDiff {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

type SlicePortKey = Vec<(String, i32, String, String)>;

/// A port set's ports (in service order) and the endpoints offering exactly them.
type PortGroup = (Vec<EndpointPort>, Vec<Endpoint>);

/// Port sets compare as sets with the apiserver's defaults applied.
fn slice_port_key(ports: Option<&Vec<EndpointPort>>) -> SlicePortKey {
    let mut key: SlicePortKey = ports
        .iter()
        .flat_map(|p| p.iter())
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                p.port.unwrap_or(0),
                protocol(p.protocol.as_ref()).to_owned(),
                p.app_protocol.clone().unwrap_or_default(),
            )
        })
        .collect();
    key.sort();
    key
}

fn controller_uid(s: &EndpointSlice) -> Option<&str> {
    s.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

/// An endpoint's identity within a slice group: its pod and addresses.
type EpKey = (String, String, String, Vec<String>);

fn ep_key(e: &Endpoint) -> EpKey {
    let r = e.target_ref.as_ref();
    let field = |f: Option<&String>| f.cloned().unwrap_or_default();
    (
        field(r.and_then(|r| r.namespace.as_ref())),
        field(r.and_then(|r| r.name.as_ref())),
        field(r.and_then(|r| r.uid.as_ref())),
        e.addresses.clone(),
    )
}

/// An endpoint as compared: fields the server or unrelated pod updates touch are dropped.
fn canonical_endpoint(e: &Endpoint) -> Endpoint {
    let mut e = e.clone();
    if let Some(r) = e.target_ref.as_mut() {
        r.resource_version = None;
    }
    e.hostname = e.hostname.filter(|s| !s.is_empty());
    e.node_name = e.node_name.filter(|s| !s.is_empty());
    e.zone = e.zone.filter(|s| !s.is_empty());
    e
}

fn owner_ids(s: &EndpointSlice) -> Vec<(String, String, String, String, bool, bool)> {
    let mut ids: Vec<_> = s
        .metadata
        .owner_references
        .iter()
        .flatten()
        .map(|o| {
            (
                o.api_version.clone(),
                o.kind.clone(),
                o.name.clone(),
                o.uid.clone(),
                o.controller.unwrap_or(false),
                o.block_owner_deletion.unwrap_or(false),
            )
        })
        .collect();
    ids.sort();
    ids
}

/// Whether a stored slice's metadata already says what the desired one says.
fn same_meta(old: &EndpointSlice, want: &EndpointSlice) -> bool {
    old.metadata.labels.clone().unwrap_or_default()
        == want.metadata.labels.clone().unwrap_or_default()
        && owner_ids(old) == owner_ids(want)
}

/// A stored slice given the desired slice's labels, owners and ports and new endpoints.
fn rewritten(old: &EndpointSlice, template: &EndpointSlice, eps: Vec<Endpoint>) -> EndpointSlice {
    let mut s = old.clone();
    s.metadata.labels = template.metadata.labels.clone();
    s.metadata.owner_references = template.metadata.owner_references.clone();
    s.ports = template.ports.clone();
    s.endpoints = eps;
    s
}

fn fresh(template: &EndpointSlice, eps: Vec<Endpoint>) -> EndpointSlice {
    let mut s = template.clone();
    s.metadata.name = None;
    s.endpoints = eps;
    s
}

struct Group<'a> {
    template: &'a EndpointSlice,
    endpoints: Vec<Endpoint>,
}

/// The writes that turn `existing` (the slices labelled for this service and this
/// controller) into `desired` (from [`endpoint_slices`]), changing as little as upstream's
/// reconciler does: stored endpoints stay in their slice, removed ones leave, new ones
/// fill slices that are being rewritten anyway, then a stored slice with room, then new
/// slices; a slice that would be deleted while another is created is reused instead.
/// Contents are compared, not server-set metadata, so a sync with nothing changed writes
/// nothing. An empty `desired` writes nothing (the controller leaves such services alone;
/// the garbage collector removes slices of deleted services through their owner).
pub fn slices_to_write(desired: &[EndpointSlice], existing: &[EndpointSlice]) -> SliceDiff {
    let mut diff = SliceDiff::default();
    let Some(first) = desired.first() else {
        return diff;
    };
    let owner = controller_uid(first);
    let types: BTreeSet<&str> = desired.iter().map(|d| d.address_type.as_str()).collect();

    let mut groups: BTreeMap<(String, SlicePortKey), Group<'_>> = BTreeMap::new();
    for d in desired {
        let key = (d.address_type.clone(), slice_port_key(d.ports.as_ref()));
        groups
            .entry(key)
            .or_insert(Group {
                template: d,
                endpoints: Vec::new(),
            })
            .endpoints
            .extend(d.endpoints.iter().cloned());
    }

    let mut sorted: Vec<&EndpointSlice> = existing.iter().collect();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut stored: BTreeMap<(String, SlicePortKey), Vec<&EndpointSlice>> = BTreeMap::new();
    for s in sorted {
        // Slices of another owner (an older Service of the same name) or of an address
        // type the service no longer has go.
        if owner.is_some() && controller_uid(s) == owner && types.contains(s.address_type.as_str())
        {
            let key = (s.address_type.clone(), slice_port_key(s.ports.as_ref()));
            stored.entry(key).or_default().push(s);
        } else {
            diff.delete.push(s.clone());
        }
    }

    for (key, group) in &groups {
        let olds = stored.remove(key).unwrap_or_default();
        if group.endpoints.is_empty() {
            place_placeholder(group.template, olds, &mut diff);
        } else {
            place(group, olds, &mut diff);
        }
    }
    diff.delete.extend(stored.into_values().flatten().cloned());

    // Reuse a slice about to be deleted for one about to be created (same owner and address
    // type, which is immutable): one update instead of a delete and a create.
    let mut kept = Vec::new();
    for old in std::mem::take(&mut diff.delete) {
        let reusable = owner.is_some() && controller_uid(&old) == owner;
        match diff
            .create
            .iter()
            .position(|c| reusable && c.address_type == old.address_type)
        {
            Some(i) => {
                let c = diff.create.remove(i);
                diff.update.push(rewritten(&old, &c, c.endpoints.clone()));
            }
            None => kept.push(old),
        }
    }
    diff.delete = kept;
    diff.update
        .sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    diff.delete
        .sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    diff
}

/// A group with no endpoints: exactly one empty slice.
fn place_placeholder(template: &EndpointSlice, olds: Vec<&EndpointSlice>, diff: &mut SliceDiff) {
    let mut olds = olds.into_iter();
    match olds.next() {
        Some(old) if old.endpoints.is_empty() && same_meta(old, template) => {}
        Some(old) => diff.update.push(rewritten(old, template, Vec::new())),
        None => diff.create.push(fresh(template, Vec::new())),
    }
    diff.delete.extend(olds.cloned());
}

fn place(group: &Group<'_>, olds: Vec<&EndpointSlice>, diff: &mut SliceDiff) {
    let template = group.template;
    let mut wanted: BTreeMap<EpKey, &Endpoint> =
        group.endpoints.iter().map(|e| (ep_key(e), e)).collect();
    let mut rewrites: Vec<EndpointSlice> = Vec::new();
    let mut unchanged: Vec<&EndpointSlice> = Vec::new();
    for old in olds {
        let mut changed = !same_meta(old, template);
        let mut kept = Vec::new();
        for ep in &old.endpoints {
            match wanted.remove(&ep_key(ep)) {
                Some(want) => {
                    changed |= canonical_endpoint(ep) != canonical_endpoint(want);
                    kept.push(want.clone());
                }
                None => changed = true,
            }
        }
        if kept.is_empty() {
            diff.delete.push(old.clone());
        } else if changed {
            rewrites.push(rewritten(old, template, kept));
        } else {
            unchanged.push(old);
        }
    }

    // What is left to place, in the desired order.
    let mut rest: Vec<Endpoint> = group
        .endpoints
        .iter()
        .filter(|e| wanted.remove(&ep_key(e)).is_some())
        .cloned()
        .collect();

    // Slices being rewritten anyway take new endpoints first, fullest first.
    rewrites.sort_by_key(|s| Reverse(s.endpoints.len()));
    for s in &mut rewrites {
        let room = MAX_ENDPOINTS_PER_SLICE.saturating_sub(s.endpoints.len());
        let take = room.min(rest.len());
        s.endpoints.extend(rest.drain(..take));
    }
    while !rest.is_empty() {
        // A last partial batch goes into the unchanged slice it fills best, if any.
        if rest.len() < MAX_ENDPOINTS_PER_SLICE
            && let Some(i) = slice_to_fill(&unchanged, rest.len())
        {
            let old = unchanged.remove(i);
            let mut eps = old.endpoints.clone();
            eps.append(&mut rest);
            rewrites.push(rewritten(old, template, eps));
            break;
        }
        let take = rest.len().min(MAX_ENDPOINTS_PER_SLICE);
        diff.create
            .push(fresh(template, rest.drain(..take).collect()));
    }
    diff.update.extend(rewrites);
}

/// The unchanged slice that `n` more endpoints would bring closest to full, if any fits.
fn slice_to_fill(slices: &[&EndpointSlice], n: usize) -> Option<usize> {
    slices
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let left = MAX_ENDPOINTS_PER_SLICE.checked_sub(s.endpoints.len() + n)?;
            Some((left, i))
        })
        .min()
        .map(|(_, i)| i)
}

#[cfg(test)]
mod tests;
