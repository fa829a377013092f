//! Server-side defaulting, the way an upstream (1.33) apiserver does it before storing.
//!
//! Clients such as kubectl and controllers expect objects read back from the apiserver to carry
//! the defaults upstream fills in (`imagePullPolicy`, `dnsPolicy`, rollout strategy, …); `kubectl
//! apply` diffs, `kubectl get -o yaml` and controllers all rely on them being present. We apply
//! them here directly on the JSON form, on create and again on update.
//!
//! Ground rules:
//! - only ever add: a value the user set is never replaced or removed;
//! - a field holding the wrong JSON type is left untouched for validation to reject;
//! - applying twice gives the same result as applying once.
//!
//! One subtlety: many upstream fields are plain (non-pointer) Go strings and integers, where an
//! explicit `""` or `0` cannot be told apart from "absent". For those fields upstream defaults
//! the zero value as well, and so do we (`set_if_zero`); pointer fields are defaulted only when
//! absent or null (`set_default`).
//!
//! Deliberately not done here: anything that needs allocation or other state (Service
//! `clusterIP`/`ipFamilies`/`ipFamilyPolicy`/`nodePort`s, the Job selector and
//! `controller-uid`/`job-name` labels, which need the object's uid), admission-time fields (pod
//! `priority`/`preemptionPolicy` from the Priority plugin, `serviceAccountName`), Namespace
//! finalizers (handled elsewhere), and canonical rounding of resource quantities.

use serde_json::{Map, Value, json};

type Obj = Map<String, Value>;

/// Fills in what upstream's defaulting fills in for an object of this Kind about to be stored
/// (create, and again on update). `kind` is the Kind name ("Pod", "Deployment", …).
pub fn apply(kind: &str, obj: &mut serde_json::Value) {
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    match kind {
        "Pod" => pod(o),
        "PodTemplate" => {
            if let Some(t) = child(o, "template") {
                pod_template(t);
            }
        }
        "ReplicationController" => replication_controller(o),
        "Deployment" => deployment(o),
        "ReplicaSet" => replica_set(o),
        "StatefulSet" => stateful_set(o),
        "DaemonSet" => daemon_set(o),
        "Job" => job(o),
        "CronJob" => cron_job(o),
        "Service" => service(o),
        "Secret" => set_if_zero(o, "type", json!("Opaque")),
        "PersistentVolumeClaim" => persistent_volume_claim(o),
        "PersistentVolume" => persistent_volume(o),
        "Endpoints" => endpoints(o),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// helpers

fn is_unset(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Sets `key` when it is absent or null.
fn set_default(o: &mut Obj, key: &str, value: Value) {
    if is_unset(o.get(key)) {
        o.insert(key.to_owned(), value);
    }
}

/// Like `set_default`, but also replaces the Go zero value (`""` or `0`) of the default's
/// own type: for non-pointer upstream fields those mean "not set".
fn set_if_zero(o: &mut Obj, key: &str, value: Value) {
    let zero = match (o.get(key), &value) {
        (Some(Value::String(s)), Value::String(_)) => s.is_empty(),
        (Some(Value::Number(n)), Value::Number(_)) => n.as_f64() == Some(0.0),
        (current, _) => is_unset(current),
    };
    if zero {
        o.insert(key.to_owned(), value);
    }
}

/// The object under `key`, created empty when absent or null (upstream non-pointer structs).
/// `None` when the key holds something other than an object.
fn child<'a>(o: &'a mut Obj, key: &str) -> Option<&'a mut Obj> {
    if is_unset(o.get(key)) {
        o.insert(key.to_owned(), Value::Object(Map::new()));
    }
    o.get_mut(key)?.as_object_mut()
}

/// The object under `key` if there is one (upstream pointer structs: never created).
fn existing<'a>(o: &'a mut Obj, key: &str) -> Option<&'a mut Obj> {
    o.get_mut(key)?.as_object_mut()
}

/// The objects in the list under `key`; anything that is not a list of objects is skipped.
fn items<'a>(o: &'a mut Obj, key: &str) -> impl Iterator<Item = &'a mut Obj> {
    o.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn str_of<'a>(o: &'a Obj, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

/// Absent, null, `""` or `0`.
fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn is_empty_object_or_unset(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// core/v1: pods and their parts

fn pod(o: &mut Obj) {
    let Some(spec) = child(o, "spec") else {
        return;
    };
    pod_spec(spec);
    // The following only apply to Pods, not to pod templates inside workloads.
    for key in ["containers", "initContainers"] {
        for c in items(spec, key) {
            requests_from_limits(c);
        }
    }
    set_default(spec, "enableServiceLinks", json!(true));
    if spec.get("hostNetwork") == Some(&Value::Bool(true)) {
        for key in ["containers", "initContainers"] {
            for c in items(spec, key) {
                for p in items(c, "ports") {
                    if let Some(port) = p.get("containerPort").filter(|v| v.is_number()).cloned() {
                        set_if_zero(p, "hostPort", port);
                    }
                }
            }
        }
    }
}

/// A container that sets limits but no request for some resource requests exactly its limit.
fn requests_from_limits(c: &mut Obj) {
    let Some(resources) = existing(c, "resources") else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    if limits.is_empty() {
        return;
    }
    let Some(requests) = child(resources, "requests") else {
        return;
    };
    for (name, quantity) in limits {
        requests.entry(name).or_insert(quantity);
    }
}

fn pod_template(t: &mut Obj) {
    if let Some(spec) = child(t, "spec") {
        pod_spec(spec);
    }
}

fn pod_spec(s: &mut Obj) {
    set_if_zero(s, "dnsPolicy", json!("ClusterFirst"));
    // Upstream defaults this for Job templates too; Job validation then treats "Always" as
    // if it were missing.
    set_if_zero(s, "restartPolicy", json!("Always"));
    set_default(s, "securityContext", json!({}));
    set_default(s, "terminationGracePeriodSeconds", json!(30));
    set_if_zero(s, "schedulerName", json!("default-scheduler"));
    for v in items(s, "volumes") {
        volume(v);
    }
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for c in items(s, key) {
            container(c);
        }
    }
}

fn container(c: &mut Obj) {
    let image = match c.get("image") {
        None | Some(Value::Null) => Some(""),
        Some(v) => v.as_str(),
    };
    if let Some(image) = image {
        set_if_zero(c, "imagePullPolicy", json!(pull_policy(image)));
    }
    set_if_zero(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_if_zero(c, "terminationMessagePolicy", json!("File"));
    // Not defaulting upstream but always serialized (a non-pointer struct); kubectl shows it.
    set_default(c, "resources", json!({}));
    for p in items(c, "ports") {
        set_if_zero(p, "protocol", json!("TCP"));
    }
    for e in items(c, "env") {
        if let Some(value_from) = existing(e, "valueFrom")
            && let Some(field_ref) = existing(value_from, "fieldRef")
        {
            object_field_selector(field_ref);
        }
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = existing(c, key) {
            probe(p);
        }
    }
    if let Some(lifecycle) = existing(c, "lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(handler) = existing(lifecycle, key)
                && let Some(h) = existing(handler, "httpGet")
            {
                http_get(h);
            }
        }
    }
}

fn probe(p: &mut Obj) {
    set_if_zero(p, "timeoutSeconds", json!(1));
    set_if_zero(p, "periodSeconds", json!(10));
    set_if_zero(p, "successThreshold", json!(1));
    set_if_zero(p, "failureThreshold", json!(3));
    if let Some(h) = existing(p, "httpGet") {
        http_get(h);
    }
    if let Some(g) = existing(p, "grpc") {
        set_default(g, "service", json!(""));
    }
}

fn http_get(h: &mut Obj) {
    set_if_zero(h, "path", json!("/"));
    set_if_zero(h, "scheme", json!("HTTP"));
}

fn object_field_selector(f: &mut Obj) {
    set_if_zero(f, "apiVersion", json!("v1"));
}

fn downward_api_items(o: &mut Obj) {
    for item in items(o, "items") {
        if let Some(f) = existing(item, "fieldRef") {
            object_field_selector(f);
        }
    }
}

fn volume(v: &mut Obj) {
    // A volume naming no source at all is an emptyDir.
    if v.iter().all(|(k, val)| k == "name" || val.is_null()) {
        v.insert("emptyDir".to_owned(), json!({}));
    }
    if let Some(h) = existing(v, "hostPath") {
        set_default(h, "type", json!(""));
    }
    for key in ["secret", "configMap"] {
        if let Some(s) = existing(v, key) {
            set_default(s, "defaultMode", json!(420));
        }
    }
    if let Some(d) = existing(v, "downwardAPI") {
        set_default(d, "defaultMode", json!(420));
        downward_api_items(d);
    }
    if let Some(p) = existing(v, "projected") {
        set_default(p, "defaultMode", json!(420));
        for source in items(p, "sources") {
            if let Some(d) = existing(source, "downwardAPI") {
                downward_api_items(d);
            }
            if let Some(t) = existing(source, "serviceAccountToken") {
                set_default(t, "expirationSeconds", json!(3600));
            }
        }
    }
    if let Some(i) = existing(v, "iscsi") {
        set_if_zero(i, "iscsiInterface", json!("default"));
    }
    if let Some(r) = existing(v, "rbd") {
        set_if_zero(r, "pool", json!("rbd"));
        set_if_zero(r, "user", json!("admin"));
        set_if_zero(r, "keyring", json!("/etc/ceph/keyring"));
    }
    if let Some(s) = existing(v, "scaleIO") {
        set_if_zero(s, "storageMode", json!("ThinProvisioned"));
        set_if_zero(s, "fsType", json!("xfs"));
    }
    if let Some(a) = existing(v, "azureDisk") {
        set_default(a, "cachingMode", json!("ReadWrite"));
        set_default(a, "kind", json!("Shared"));
        set_default(a, "fsType", json!("ext4"));
        set_default(a, "readOnly", json!(false));
    }
    if let Some(e) = existing(v, "ephemeral")
        && let Some(t) = existing(e, "volumeClaimTemplate")
        && let Some(spec) = child(t, "spec")
    {
        persistent_volume_claim_spec(spec);
    }
    if let Some(i) = existing(v, "image") {
        let reference = match i.get("reference") {
            None | Some(Value::Null) => Some(""),
            Some(r) => r.as_str(),
        };
        if let Some(reference) = reference {
            set_if_zero(i, "pullPolicy", json!(pull_policy(reference)));
        }
    }
}

/// `Always` for images on the `latest` tag (named, or implied by having neither tag nor
/// digest), `IfNotPresent` for everything else, including references upstream cannot parse.
fn pull_policy(image: &str) -> &'static str {
    if image_tag(image) == Some("latest") {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// The tag an image reference pulls: its own, `latest` when it has neither tag nor digest,
/// `None` when pinned only by digest or not a valid reference.
fn image_tag(image: &str) -> Option<&str> {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    // A colon after the last slash starts the tag; one before it belongs to a registry port.
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if !valid_image_name(name) || !tag.is_none_or(valid_tag) || !digest.is_none_or(valid_digest) {
        return None;
    }
    match (tag, digest) {
        (Some(tag), _) => Some(tag),
        (None, None) => Some("latest"),
        (None, Some(_)) => None,
    }
}

fn valid_image_name(name: &str) -> bool {
    // Bare 64-hex strings are image IDs, which references refuse.
    if name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return false;
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    if !domain.is_none_or(valid_domain) || !path.split('/').all(valid_path_component) {
        return false;
    }
    let implied_prefix = match domain {
        Some(_) => 0,
        None if path.contains('/') => "docker.io/".len(),
        None => "docker.io/library/".len(),
    };
    name.len() + implied_prefix <= 255
}

fn valid_domain(domain: &str) -> bool {
    // The port follows the last colon, unless that colon is inside an IPv6 literal.
    let (host, port) = match domain.rfind(':') {
        Some(i) if !domain[i + 1..].contains(']') => (&domain[..i], Some(&domain[i + 1..])),
        _ => (domain, None),
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ip6) => !ip6.is_empty() && ip6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
        None => host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// Lowercase alphanumerics, joined by `.`, `_`, `__` or runs of `-`.
fn valid_path_component(c: &str) -> bool {
    let is_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|s| s == b'-')) {
            return false;
        }
    }
    true
}

fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// Only digests of a hash the runtime knows, with the right length, parse upstream.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let len = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

// ---------------------------------------------------------------------------------------------
// core/v1: other kinds

fn replication_controller(o: &mut Obj) {
    let template_labels = o
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = &template_labels
        && let Some(meta) = child(o, "metadata")
        && is_empty_object_or_unset(meta.get("labels"))
    {
        meta.insert("labels".to_owned(), labels.clone());
    }
    let Some(spec) = child(o, "spec") else {
        return;
    };
    if let Some(labels) = template_labels
        && is_empty_object_or_unset(spec.get("selector"))
    {
        spec.insert("selector".to_owned(), labels);
    }
    set_default(spec, "replicas", json!(1));
    if let Some(t) = existing(spec, "template") {
        pod_template(t);
    }
}

fn service(o: &mut Obj) {
    let Some(spec) = child(o, "spec") else {
        return;
    };
    set_if_zero(spec, "sessionAffinity", json!("None"));
    // Upstream also drops sessionAffinityConfig when affinity is None; we never remove user
    // data, so validation has to reject that combination instead.
    if str_of(spec, "sessionAffinity") == Some("ClientIP")
        && let Some(config) = child(spec, "sessionAffinityConfig")
        && let Some(client_ip) = child(config, "clientIP")
    {
        set_default(client_ip, "timeoutSeconds", json!(10800));
    }
    set_if_zero(spec, "type", json!("ClusterIP"));
    for p in items(spec, "ports") {
        set_if_zero(p, "protocol", json!("TCP"));
        // targetPort is an int-or-string: both 0 and "" mean unset.
        if is_blank(p.get("targetPort"))
            && let Some(port) = p.get("port").filter(|v| v.is_i64() || v.is_u64()).cloned()
        {
            p.insert("targetPort".to_owned(), port);
        }
    }
    let kind = str_of(spec, "type").map(str::to_owned);
    let has_external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|ips| !ips.is_empty());
    let externally_accessible = match kind.as_deref() {
        Some("NodePort" | "LoadBalancer") => true,
        Some("ClusterIP") => has_external_ips,
        _ => false,
    };
    if externally_accessible {
        set_if_zero(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if matches!(
        kind.as_deref(),
        Some("ClusterIP" | "NodePort" | "LoadBalancer")
    ) {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind.as_deref() == Some("LoadBalancer") {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
        if let Some(status) = existing(o, "status")
            && let Some(lb) = existing(status, "loadBalancer")
        {
            for ingress in items(lb, "ingress") {
                if str_of(ingress, "ip").is_some_and(|ip| !ip.is_empty()) {
                    set_default(ingress, "ipMode", json!("VIP"));
                }
            }
        }
    }
}

fn persistent_volume_claim(o: &mut Obj) {
    if let Some(spec) = child(o, "spec") {
        persistent_volume_claim_spec(spec);
    }
    if let Some(status) = child(o, "status") {
        set_if_zero(status, "phase", json!("Pending"));
    }
}

fn persistent_volume_claim_spec(spec: &mut Obj) {
    set_default(spec, "volumeMode", json!("Filesystem"));
}

fn persistent_volume(o: &mut Obj) {
    if let Some(spec) = child(o, "spec") {
        set_if_zero(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        set_default(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = child(o, "status") {
        set_if_zero(status, "phase", json!("Pending"));
    }
}

fn endpoints(o: &mut Obj) {
    for subset in items(o, "subsets") {
        for p in items(subset, "ports") {
            set_if_zero(p, "protocol", json!("TCP"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// apps/v1

fn deployment(o: &mut Obj) {
    let Some(spec) = child(o, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(strategy) = child(spec, "strategy") {
        set_if_zero(strategy, "type", json!("RollingUpdate"));
        if str_of(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            set_default(rolling, "maxUnavailable", json!("25%"));
            set_default(rolling, "maxSurge", json!("25%"));
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    set_default(spec, "progressDeadlineSeconds", json!(600));
    if let Some(t) = child(spec, "template") {
        pod_template(t);
    }
}

fn replica_set(o: &mut Obj) {
    let Some(spec) = child(o, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(t) = child(spec, "template") {
        pod_template(t);
    }
}

fn stateful_set(o: &mut Obj) {
    let Some(spec) = child(o, "spec") else {
        return;
    };
    set_if_zero(spec, "podManagementPolicy", json!("OrderedReady"));
    if let Some(strategy) = child(spec, "updateStrategy") {
        // rollingUpdate is only filled in when the type itself was defaulted: an explicit
        // `type: RollingUpdate` without `rollingUpdate` stays without it.
        if is_blank(strategy.get("type")) {
            strategy.insert("type".to_owned(), json!("RollingUpdate"));
            set_default(strategy, "rollingUpdate", json!({}));
        }
        if str_of(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = existing(strategy, "rollingUpdate")
        {
            set_default(rolling, "partition", json!(0));
        }
    }
    if let Some(policy) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        set_if_zero(policy, "whenDeleted", json!("Retain"));
        set_if_zero(policy, "whenScaled", json!("Retain"));
    }
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(10));
    if let Some(t) = child(spec, "template") {
        pod_template(t);
    }
    for claim in items(spec, "volumeClaimTemplates") {
        persistent_volume_claim(claim);
    }
}

fn daemon_set(o: &mut Obj) {
    let Some(spec) = child(o, "spec") else {
        return;
    };
    if let Some(strategy) = child(spec, "updateStrategy") {
        set_if_zero(strategy, "type", json!("RollingUpdate"));
        if str_of(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            set_default(rolling, "maxUnavailable", json!(1));
            set_default(rolling, "maxSurge", json!(0));
        }
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    if let Some(t) = child(spec, "template") {
        pod_template(t);
    }
}

// ---------------------------------------------------------------------------------------------
// batch/v1

fn job(o: &mut Obj) {
    // A Job without labels of its own takes its pod template's.
    let template_labels = o
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = template_labels
        && let Some(meta) = child(o, "metadata")
        && is_empty_object_or_unset(meta.get("labels"))
    {
        meta.insert("labels".to_owned(), labels);
    }
    let Some(spec) = child(o, "spec") else {
        return;
    };
    if is_unset(spec.get("completions")) && is_unset(spec.get("parallelism")) {
        spec.insert("completions".to_owned(), json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let backoff = if is_unset(spec.get("backoffLimitPerIndex")) {
        6
    } else {
        i32::MAX
    };
    set_default(spec, "backoffLimit", json!(backoff));
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    if let Some(policy) = existing(spec, "podFailurePolicy") {
        for rule in items(policy, "rules") {
            for pattern in items(rule, "onPodConditions") {
                set_if_zero(pattern, "status", json!("True"));
            }
        }
    }
    let replacement = if is_unset(spec.get("podFailurePolicy")) {
        "TerminatingOrFailed"
    } else {
        "Failed"
    };
    set_default(spec, "podReplacementPolicy", json!(replacement));
    set_default(spec, "manualSelector", json!(false));
    if let Some(t) = child(spec, "template") {
        pod_template(t);
    }
}

fn cron_job(o: &mut Obj) {
    let Some(spec) = child(o, "spec") else {
        return;
    };
    set_if_zero(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    set_default(spec, "successfulJobsHistoryLimit", json!(3));
    set_default(spec, "failedJobsHistoryLimit", json!(1));
    // Only the pod template inside is defaulted: the Job-level defaults (backoffLimit, …) are
    // applied to each Job when the controller creates it.
    if let Some(job_template) = child(spec, "jobTemplate")
        && let Some(job_spec) = child(job_template, "spec")
        && let Some(t) = child(job_spec, "template")
    {
        pod_template(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(kind: &str, mut obj: Value) -> Value {
        apply(kind, &mut obj);
        obj
    }

    fn kubectl_create_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"creationTimestamp": null, "labels": {"app": "web"}, "name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {"containers": [{"image": "nginx", "name": "nginx", "resources": {}}]}
                }
            },
            "status": {}
        })
    }

    #[test]
    fn deployment_from_kubectl_create() {
        let got = defaulted("Deployment", kubectl_create_deployment());
        let want = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"creationTimestamp": null, "labels": {"app": "web"}, "name": "web"},
            "spec": {
                "progressDeadlineSeconds": 600,
                "replicas": 1,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                    "type": "RollingUpdate"
                },
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "image": "nginx",
                            "imagePullPolicy": "Always",
                            "name": "nginx",
                            "resources": {},
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File"
                        }],
                        "dnsPolicy": "ClusterFirst",
                        "restartPolicy": "Always",
                        "schedulerName": "default-scheduler",
                        "securityContext": {},
                        "terminationGracePeriodSeconds": 30
                    }
                }
            },
            "status": {}
        });
        assert_eq!(got, want);
    }

    #[test]
    fn image_pull_policy() {
        let digest = "sha256:".to_owned() + &"a".repeat(64);
        let cases = [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.27", "IfNotPresent"),
            ("localhost:5000/app", "Always"),
            ("localhost:5000/app:v1", "IfNotPresent"),
            ("localhost:5000/app:latest", "Always"),
            ("app@sha256:abc", "IfNotPresent"),
            (&format!("app@{digest}"), "IfNotPresent"),
            (&format!("app:latest@{digest}"), "Always"),
            (&format!("app:1.0@{digest}"), "IfNotPresent"),
            ("registry.example.com/team/app", "Always"),
            ("docker.io/library/nginx:1.27", "IfNotPresent"),
            ("[::1]:5000/app", "Always"),
            ("ghcr.io/a__b/c-d.e:v1.2_3", "IfNotPresent"),
            // Unparseable upstream, so never "latest".
            ("", "IfNotPresent"),
            ("Nginx", "IfNotPresent"),
            ("nginx:", "IfNotPresent"),
            ("nginx latest", "IfNotPresent"),
        ];
        for (image, want) in cases {
            assert_eq!(pull_policy(image), want, "image {image:?}");
        }
        let pod = defaulted(
            "Pod",
            json!({"spec": {"initContainers": [{"name": "i", "image": "busybox:1.36"}],
                            "containers": [{"name": "c"}, {"name": "d", "image": 7}]}}),
        );
        assert_eq!(
            pod["spec"]["initContainers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(
            pod["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert!(
            pod["spec"]["containers"][1]
                .get("imagePullPolicy")
                .is_none()
        );
    }

    #[test]
    fn user_values_are_kept() {
        let mut d = kubectl_create_deployment();
        d["spec"]["replicas"] = json!(0);
        d["spec"]["strategy"] = json!({"type": "Recreate"});
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Never");
        let got = defaulted("Deployment", d);
        assert_eq!(got["spec"]["replicas"], 0);
        assert_eq!(got["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(got["spec"]["template"]["spec"]["restartPolicy"], "Never");
        assert_eq!(
            got["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "Never"
        );

        let partial = defaulted(
            "Deployment",
            json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 3}}}}),
        );
        assert_eq!(
            partial["spec"]["strategy"]["rollingUpdate"],
            json!({"maxSurge": 3, "maxUnavailable": "25%"})
        );
    }

    #[test]
    fn pod_defaults() {
        let got = defaulted(
            "Pod",
            json!({"spec": {
                "hostNetwork": true,
                "containers": [{
                    "name": "c",
                    "image": "app:v1",
                    "ports": [{"containerPort": 8080}, {"containerPort": 53, "protocol": "UDP", "hostPort": 5353}],
                    "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                    "resources": {"limits": {"cpu": "1"}, "requests": {"memory": "1Gi"}},
                    "livenessProbe": {"httpGet": {"port": 8080}},
                    "readinessProbe": {"grpc": {"port": 9000}, "periodSeconds": 5},
                    "lifecycle": {"preStop": {"httpGet": {"port": 80, "path": "/stop"}}}
                }],
                "volumes": [
                    {"name": "scratch"},
                    {"name": "e", "emptyDir": {}},
                    {"name": "cm", "configMap": {"name": "x"}},
                    {"name": "s", "secret": {"secretName": "x", "defaultMode": 256}},
                    {"name": "h", "hostPath": {"path": "/tmp"}},
                    {"name": "p", "projected": {"sources": [
                        {"serviceAccountToken": {"path": "token"}},
                        {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}}
                    ]}},
                    {"name": "d", "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                    {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}}
                ]
            }}),
        );
        let spec = &got["spec"];
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["restartPolicy"], "Always");
        let c = &spec["containers"][0];
        assert_eq!(
            c["ports"],
            json!([
                {"containerPort": 8080, "protocol": "TCP", "hostPort": 8080},
                {"containerPort": 53, "protocol": "UDP", "hostPort": 5353}
            ])
        );
        assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
        assert_eq!(
            c["resources"],
            json!({"limits": {"cpu": "1"}, "requests": {"cpu": "1", "memory": "1Gi"}})
        );
        assert_eq!(
            c["livenessProbe"],
            json!({"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                   "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
        );
        assert_eq!(c["readinessProbe"]["periodSeconds"], 5);
        assert_eq!(c["readinessProbe"]["grpc"]["service"], "");
        assert_eq!(
            c["lifecycle"]["preStop"]["httpGet"],
            json!({"port": 80, "path": "/stop", "scheme": "HTTP"})
        );
        let v = &spec["volumes"];
        assert_eq!(v[0], json!({"name": "scratch", "emptyDir": {}}));
        assert_eq!(v[1], json!({"name": "e", "emptyDir": {}}));
        assert_eq!(v[2]["configMap"]["defaultMode"], 420);
        assert_eq!(v[3]["secret"]["defaultMode"], 256);
        assert_eq!(v[4]["hostPath"]["type"], "");
        assert_eq!(v[5]["projected"]["defaultMode"], 420);
        assert_eq!(
            v[5]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3600
        );
        assert_eq!(
            v[5]["projected"]["sources"][1]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"],
            "v1"
        );
        assert_eq!(v[6]["downwardAPI"]["defaultMode"], 420);
        assert_eq!(
            v[7]["ephemeral"]["volumeClaimTemplate"]["spec"]["volumeMode"],
            "Filesystem"
        );
    }

    #[test]
    fn templates_do_not_get_pod_only_defaults() {
        let mut d = kubectl_create_deployment();
        d["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({"limits": {"cpu": "1"}});
        let got = defaulted("Deployment", d);
        let spec = &got["spec"]["template"]["spec"];
        assert!(spec.get("enableServiceLinks").is_none());
        assert!(spec["containers"][0]["resources"].get("requests").is_none());
    }

    #[test]
    fn stateful_set_defaults() {
        let got = defaulted(
            "StatefulSet",
            json!({"spec": {
                "serviceName": "db",
                "template": {"spec": {"containers": [{"name": "db", "image": "postgres:17"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
            }}),
        );
        let spec = &got["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            spec["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(
            spec["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(
            spec["volumeClaimTemplates"][0]["spec"]["volumeMode"],
            "Filesystem"
        );
        assert_eq!(
            spec["volumeClaimTemplates"][0]["status"],
            json!({"phase": "Pending"})
        );
        assert_eq!(spec["template"]["spec"]["dnsPolicy"], "ClusterFirst");

        let explicit = defaulted(
            "StatefulSet",
            json!({"spec": {"updateStrategy": {"type": "RollingUpdate"}}}),
        );
        assert_eq!(
            explicit["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate"})
        );
    }

    #[test]
    fn daemon_set_and_replica_set_defaults() {
        let ds = defaulted("DaemonSet", json!({"spec": {}}));
        assert_eq!(
            ds["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
        let ds = defaulted(
            "DaemonSet",
            json!({"spec": {"updateStrategy": {"type": "OnDelete"}}}),
        );
        assert_eq!(ds["spec"]["updateStrategy"], json!({"type": "OnDelete"}));

        let rs = defaulted("ReplicaSet", json!({"spec": {}}));
        assert_eq!(rs["spec"]["replicas"], 1);
        assert_eq!(
            rs["spec"]["template"]["spec"]["schedulerName"],
            "default-scheduler"
        );
    }

    #[test]
    fn job_defaults() {
        let got = defaulted(
            "Job",
            json!({"metadata": {"name": "pi"}, "spec": {"template": {
                "metadata": {"labels": {"app": "pi"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34"}]}
            }}}),
        );
        assert_eq!(got["metadata"]["labels"], json!({"app": "pi"}));
        let spec = &got["spec"];
        for (key, want) in [
            ("completions", json!(1)),
            ("parallelism", json!(1)),
            ("backoffLimit", json!(6)),
            ("completionMode", json!("NonIndexed")),
            ("suspend", json!(false)),
            ("podReplacementPolicy", json!("TerminatingOrFailed")),
            ("manualSelector", json!(false)),
        ] {
            assert_eq!(spec[key], want, "{key}");
        }
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");

        let parallel = defaulted(
            "Job",
            json!({"spec": {
                "parallelism": 3,
                "backoffLimitPerIndex": 1,
                "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
            }}),
        );
        let spec = &parallel["spec"];
        assert!(spec.get("completions").is_none());
        assert_eq!(spec["parallelism"], 3);
        assert_eq!(spec["backoffLimit"], 2147483647);
        assert_eq!(spec["podReplacementPolicy"], "Failed");
        assert_eq!(
            spec["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"],
            "True"
        );
        // Upstream defaults this even for Jobs; Job validation rejects it.
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Always");
        assert!(parallel["metadata"].get("labels").is_none());

        let only_completions = defaulted("Job", json!({"spec": {"completions": 5}}));
        assert_eq!(only_completions["spec"]["completions"], 5);
        assert_eq!(only_completions["spec"]["parallelism"], 1);
    }

    #[test]
    fn cron_job_defaults() {
        let got = defaulted(
            "CronJob",
            json!({"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {
                "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}
            }}}}}),
        );
        let spec = &got["spec"];
        assert_eq!(spec["concurrencyPolicy"], "Allow");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["successfulJobsHistoryLimit"], 3);
        assert_eq!(spec["failedJobsHistoryLimit"], 1);
        let job_spec = &spec["jobTemplate"]["spec"];
        assert!(job_spec.get("backoffLimit").is_none());
        assert!(job_spec.get("completions").is_none());
        let pod = &job_spec["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "OnFailure");
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
        assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    }

    #[test]
    fn service_defaults() {
        let got = defaulted(
            "Service",
            json!({"spec": {"selector": {"app": "web"}, "ports": [
                {"port": 80},
                {"port": 443, "targetPort": "https", "protocol": "TCP"},
                {"port": 53, "protocol": "UDP", "targetPort": 0}
            ]}}),
        );
        assert_eq!(
            got["spec"],
            json!({
                "selector": {"app": "web"},
                "ports": [
                    {"port": 80, "protocol": "TCP", "targetPort": 80},
                    {"port": 443, "targetPort": "https", "protocol": "TCP"},
                    {"port": 53, "protocol": "UDP", "targetPort": 53}
                ],
                "type": "ClusterIP",
                "sessionAffinity": "None",
                "internalTrafficPolicy": "Cluster"
            })
        );

        let lb = defaulted(
            "Service",
            json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP"},
                   "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}, {"hostname": "lb"}]}}}),
        );
        assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(lb["spec"]["internalTrafficPolicy"], "Cluster");
        assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
        assert_eq!(
            lb["spec"]["sessionAffinityConfig"],
            json!({"clientIP": {"timeoutSeconds": 10800}})
        );
        assert_eq!(lb["status"]["loadBalancer"]["ingress"][0]["ipMode"], "VIP");
        assert!(
            lb["status"]["loadBalancer"]["ingress"][1]
                .get("ipMode")
                .is_none()
        );

        let ext = defaulted(
            "Service",
            json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
        );
        assert!(ext["spec"].get("internalTrafficPolicy").is_none());
        assert!(ext["spec"].get("externalTrafficPolicy").is_none());

        let external_ips = defaulted("Service", json!({"spec": {"externalIPs": ["1.2.3.4"]}}));
        assert_eq!(external_ips["spec"]["externalTrafficPolicy"], "Cluster");
    }

    #[test]
    fn small_kinds() {
        assert_eq!(defaulted("Secret", json!({}))["type"], "Opaque");
        assert_eq!(
            defaulted("Secret", json!({"type": "kubernetes.io/tls"}))["type"],
            "kubernetes.io/tls"
        );
        assert_eq!(
            defaulted("ConfigMap", json!({"data": {"a": "b"}})),
            json!({"data": {"a": "b"}})
        );
        let pvc = defaulted("PersistentVolumeClaim", json!({"spec": {}}));
        assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
        assert_eq!(pvc["status"]["phase"], "Pending");
        let rc = defaulted(
            "ReplicationController",
            json!({"spec": {"template": {"metadata": {"labels": {"a": "b"}}}}}),
        );
        assert_eq!(rc["spec"]["selector"], json!({"a": "b"}));
        assert_eq!(rc["metadata"]["labels"], json!({"a": "b"}));
        assert_eq!(rc["spec"]["replicas"], 1);
        assert_eq!(
            defaulted("Unknown", json!({"spec": {}})),
            json!({"spec": {}})
        );
    }

    const KINDS: [&str; 15] = [
        "Pod",
        "PodTemplate",
        "ReplicationController",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Service",
        "Secret",
        "PersistentVolumeClaim",
        "PersistentVolume",
        "Endpoints",
        "ConfigMap",
    ];

    fn rich_samples() -> Vec<(&'static str, Value)> {
        let pod_spec = json!({
            "hostNetwork": true,
            "containers": [{
                "name": "c", "image": "app",
                "ports": [{"containerPort": 80}],
                "env": [{"name": "x", "valueFrom": {"fieldRef": {"fieldPath": "a"}}}],
                "resources": {"limits": {"cpu": "1"}},
                "livenessProbe": {"httpGet": {"port": 1}, "grpc": {"port": 2}},
                "lifecycle": {"postStart": {"httpGet": {"port": 1}}}
            }],
            "initContainers": [{"name": "i"}],
            "ephemeralContainers": [{"name": "e"}],
            "volumes": [{"name": "v"}, {"name": "p", "projected": {"sources": [{"serviceAccountToken": {}}]}},
                        {"name": "im", "image": {"reference": "x"}}, {"name": "r", "rbd": {}}]
        });
        let template = json!({"metadata": {"labels": {"a": "b"}}, "spec": pod_spec});
        vec![
            ("Pod", json!({"metadata": {}, "spec": pod_spec})),
            ("PodTemplate", json!({"template": template})),
            (
                "ReplicationController",
                json!({"spec": {"template": template}}),
            ),
            ("Deployment", kubectl_create_deployment()),
            ("ReplicaSet", json!({"spec": {"template": template}})),
            (
                "StatefulSet",
                json!({"spec": {"template": template, "volumeClaimTemplates": [{"spec": {}}]}}),
            ),
            ("DaemonSet", json!({"spec": {"template": template}})),
            (
                "Job",
                json!({"spec": {"template": template, "podFailurePolicy": {"rules": [{"onPodConditions": [{}]}]}}}),
            ),
            (
                "CronJob",
                json!({"spec": {"jobTemplate": {"spec": {"template": template}}}}),
            ),
            (
                "Service",
                json!({"spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 1}]},
                       "status": {"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}}}),
            ),
            ("Secret", json!({})),
            ("PersistentVolumeClaim", json!({})),
            ("PersistentVolume", json!({})),
            ("Endpoints", json!({"subsets": [{"ports": [{"port": 1}]}]})),
        ]
    }

    #[test]
    fn idempotent() {
        for kind in KINDS {
            let once = defaulted(kind, json!({}));
            assert_eq!(once, defaulted(kind, once.clone()), "{kind} from nothing");
        }
        for (kind, obj) in rich_samples() {
            let once = defaulted(kind, obj);
            let twice = defaulted(kind, once.clone());
            assert_eq!(once, twice, "{kind}");
        }
    }

    /// Every node of every fully defaulted sample, replaced in turn by each JSON type.
    #[test]
    fn wrong_types_do_not_panic() {
        fn paths(v: &Value, prefix: String, out: &mut Vec<String>) {
            out.push(prefix.clone());
            match v {
                Value::Object(m) => {
                    for (k, c) in m {
                        paths(c, format!("{prefix}/{k}"), out);
                    }
                }
                Value::Array(a) => {
                    for (i, c) in a.iter().enumerate() {
                        paths(c, format!("{prefix}/{i}"), out);
                    }
                }
                _ => {}
            }
        }
        let replacements = [
            json!(null),
            json!(5),
            json!(-1.5),
            json!("x"),
            json!(""),
            json!(true),
            json!([]),
            json!([1, "a"]),
            json!({}),
        ];
        for (kind, obj) in rich_samples() {
            let full = defaulted(kind, obj);
            let mut all = Vec::new();
            paths(&full, String::new(), &mut all);
            for path in all {
                for r in &replacements {
                    let mut broken = full.clone();
                    if path.is_empty() {
                        broken = r.clone();
                    } else if let Some(slot) = broken.pointer_mut(&path) {
                        *slot = r.clone();
                    }
                    let once = defaulted(kind, broken);
                    let twice = defaulted(kind, once.clone());
                    assert_eq!(once, twice, "{kind} at {path} with {r}");
                }
            }
        }
        assert_eq!(
            defaulted("Deployment", json!({"spec": 5})),
            json!({"spec": 5})
        );
        let containers_not_a_list = json!({"spec": {"containers": {"name": "c"}}});
        let got = defaulted("Pod", containers_not_a_list);
        assert_eq!(got["spec"]["containers"], json!({"name": "c"}));
        assert_eq!(got["spec"]["dnsPolicy"], "ClusterFirst");
        let bad_strategy = defaulted("Deployment", json!({"spec": {"strategy": "fast"}}));
        assert_eq!(bad_strategy["spec"]["strategy"], "fast");
        assert_eq!(bad_strategy["spec"]["replicas"], 1);
    }
}
