//! What the server does to an object on its way in, per kind: the fields it owns on create
//! (name from generateName, uid, creationTimestamp, generation), what an update may not
//! change, and name validation.

use serde_json::{Value, json};

use super::status::ApiError;
use crate::kinds::{self, Kind};

pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A random RFC 4122 version-4 UUID.
pub fn new_uid() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn random_suffix() -> String {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut b = [0u8; 5];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// Validates a name as the kind requires; the causes of a 422.
fn validate_name(kind: &Kind, name: &str) -> Vec<(String, String)> {
    if kind.group == "rbac.authorization.k8s.io" {
        // RBAC names only have to be usable as a path segment (`system:node` is one).
        return match name {
            "." | ".." => vec![(
                "metadata.name".into(),
                format!("Invalid value: {name:?}: may not be '{name}'"),
            )],
            _ if name.contains('/') || name.contains('%') => vec![(
                "metadata.name".into(),
                format!("Invalid value: {name:?}: may not contain '/' or '%'"),
            )],
            _ => vec![],
        };
    }
    let (ok, msg) = if kind.kind == "Namespace" {
        (kinds::is_dns_label(name), LABEL_MSG)
    } else {
        (kinds::is_dns_subdomain(name), SUBDOMAIN_MSG)
    };
    if ok {
        vec![]
    } else {
        vec![(
            "metadata.name".into(),
            format!("Invalid value: {name:?}: {msg}"),
        )]
    }
}

/// Fills in what the server owns on create: name (from generateName), namespace, uid,
/// creationTimestamp, apiVersion and kind; checks the name and the body's kind.
pub fn prepare_new(kind: &Kind, ns: Option<&str>, mut obj: Value) -> Result<Value, ApiError> {
    check_type(kind, &obj)?;
    let meta = &mut obj["metadata"];
    if !meta.is_object() {
        *meta = json!({});
    }
    let name = match (meta["name"].as_str(), meta["generateName"].as_str()) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(g)) if !g.is_empty() => format!("{g}{}", random_suffix()),
        _ => {
            return Err(ApiError::invalid(
                kind,
                "",
                vec![(
                    "metadata.name".into(),
                    "Required value: name or generateName is required".into(),
                )],
            ));
        }
    };
    let causes = validate_name(kind, &name);
    if !causes.is_empty() {
        return Err(ApiError::invalid(kind, &name, causes));
    }
    if let Some(ns) = ns {
        match meta["namespace"].as_str() {
            Some(other) if !other.is_empty() && other != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => meta["namespace"] = ns.into(),
        }
    }
    meta["name"] = name.into();
    meta["uid"] = new_uid().into();
    meta["creationTimestamp"] = now_rfc3339().into();
    if let Some(m) = meta.as_object_mut() {
        m.remove("resourceVersion");
        m.remove("deletionTimestamp");
    }
    drop_empty_metadata(&mut obj);
    obj["apiVersion"] = kind.api_version().into();
    obj["kind"] = kind.kind.into();
    if kind.kind == "Namespace" {
        obj["spec"]["finalizers"] = json!(["kubernetes"]);
        obj["status"] = json!({"phase": "Active"});
        // Upstream labels every namespace with its name, so selectors can pick namespaces.
        let name = obj["metadata"]["name"].clone();
        obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
    }
    if kind.kind == "Job" {
        job_selector(&mut obj);
    }
    if kind.kind == "Pod" {
        // A new pod is Pending until scheduled and started; its QoS class is fixed by its
        // resources.
        obj["status"] = json!({"phase": "Pending", "qosClass": qos_class(&obj["spec"])});
        default_toleration_seconds(&mut obj["spec"]);
    }
    let causes = admit(kind, &mut obj, None);
    if !causes.is_empty() {
        let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
        return Err(ApiError::invalid(kind, &name, causes));
    }
    if kinds::has_generation(kind) {
        obj["metadata"]["generation"] = 1.into();
    }
    if kind.kind == "Secret" && obj["type"].is_null() {
        obj["type"] = "Opaque".into();
    }
    Ok(obj)
}

/// A pod's QoS class: BestEffort without any request or limit, Guaranteed when every
/// container's cpu and memory limits are set and equal its requests, else Burstable.
fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .filter_map(|l| spec[*l].as_array())
        .flatten()
        .collect();
    let empty = |v: &Value| v.as_object().is_none_or(|m| m.is_empty());
    if containers
        .iter()
        .all(|c| empty(&c["resources"]["requests"]) && empty(&c["resources"]["limits"]))
    {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        let (req, lim) = (&c["resources"]["requests"], &c["resources"]["limits"]);
        ["cpu", "memory"]
            .iter()
            .all(|r| !lim[*r].is_null() && (req[*r].is_null() || req[*r] == lim[*r]))
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A Job selects its pods by its own uid, unless the user asked to choose (manualSelector):
/// upstream generates the selector and the pod labels on create.
fn job_selector(job: &mut Value) {
    if job["spec"]["manualSelector"] == json!(true) {
        return;
    }
    let uid = job["metadata"]["uid"].clone();
    let name = job["metadata"]["name"].clone();
    job["spec"]["selector"] =
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid.clone()}});
    let labels = &mut job["spec"]["template"]["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    for (key, value) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels[key] = value.clone();
    }
}

/// The new object of an update: what the server owns is kept from the current one.
pub fn prepare_update(
    kind: &Kind,
    name: &str,
    current: &Value,
    mut new: Value,
) -> Result<Value, ApiError> {
    check_type(kind, &new)?;
    if new["metadata"]["name"].as_str() != Some(name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            new["metadata"]["name"].as_str().unwrap_or("")
        )));
    }
    for field in ["uid", "creationTimestamp", "namespace", "deletionTimestamp"] {
        new["metadata"][field] = current["metadata"][field].clone();
    }
    if let Some(m) = new["metadata"].as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    new["apiVersion"] = kind.api_version().into();
    new["kind"] = kind.kind.into();
    drop_empty_metadata(&mut new);
    if kinds::has_status(kind) {
        // Status belongs to the status subresource; the main resource ignores it.
        match current.get("status") {
            Some(status) => new["status"] = status.clone(),
            // Not `"status": null`, which typed clients do not expect.
            None => {
                new.as_object_mut().map(|m| m.remove("status"));
            }
        }
    }
    if let Some(g) = current["metadata"]["generation"].as_i64() {
        new["metadata"]["generation"] = g.into();
    }
    let causes = admit(kind, &mut new, Some(current));
    if !causes.is_empty() {
        return Err(ApiError::invalid(kind, name, causes));
    }
    Ok(new)
}

/// Defaults, then validation: a CRD's kinds by their schema, the built-in ones by their
/// type (a CRD's kind may share a built-in kind's name, so CRDs are asked first). A CRD gets
/// its status here too: the server owns it.
fn admit(kind: &Kind, obj: &mut Value, old: Option<&Value>) -> Vec<(String, String)> {
    if let Some(causes) = super::crds::admit(kind, obj) {
        return causes;
    }
    super::defaults::apply(kind.kind, obj);
    let mut causes = match old {
        None => super::validation::validate_create(kind.kind, obj),
        Some(old) => super::validation::validate_update(kind.kind, old, obj),
    };
    if super::crds::is_definition(kind) {
        causes.extend(super::crds::definition_causes(obj, old));
        if causes.is_empty() {
            super::crds::definition_status(obj, &now_rfc3339());
        }
    }
    causes
}

/// Upstream's DefaultTolerationSeconds admission: a pod that does not say how long it
/// tolerates its node being not ready or unreachable tolerates either for 300 s, after
/// which the taint manager evicts it.
fn default_toleration_seconds(spec: &mut Value) {
    // Malformed specs are validation's to report, untouched.
    if !spec.is_object() || !(spec["tolerations"].is_null() || spec["tolerations"].is_array()) {
        return;
    }
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerations = spec["tolerations"].as_array();
        let has = tolerations.into_iter().flatten().any(|t| {
            t["key"] == key && matches!(t["effect"].as_str(), None | Some("") | Some("NoExecute"))
        });
        if has {
            continue;
        }
        let toleration = json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300});
        match spec["tolerations"].as_array_mut() {
            Some(list) => list.push(toleration),
            None => spec["tolerations"] = json!([toleration]),
        }
    }
}

/// Whether an update changes what metadata.generation counts: the spec of a built-in kind;
/// for a CRD's kind everything but metadata (and status, when it is a subresource), as
/// upstream counts it.
pub fn spec_changed(kind: &Kind, old: &Value, new: &Value) -> bool {
    if kinds::is_builtin(kind) {
        return old["spec"] != new["spec"];
    }
    let status = kinds::has_status(kind);
    let body = |o: &Value| -> Vec<(String, Value)> {
        o.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| *k != "metadata" && !(status && *k == "status"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    body(old) != body(new)
}

/// Empty metadata maps and lists are left out, as upstream's typed objects serialise them
/// (`omitempty`): removing the last label leaves no `labels: {}` behind.
fn drop_empty_metadata(obj: &mut Value) {
    if let Some(m) = obj["metadata"].as_object_mut() {
        for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
            let empty = match m.get(field) {
                Some(Value::Object(o)) => o.is_empty(),
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                m.remove(field);
            }
        }
    }
}

/// A body's apiVersion and kind, when given, must be the URL's.
fn check_type(kind: &Kind, obj: &Value) -> Result<(), ApiError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or("");
    let k = obj["kind"].as_str().unwrap_or("");
    if (!api_version.is_empty() && api_version != kind.api_version())
        || (!k.is_empty() && k != kind.kind)
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            kind.api_version()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_tolerate_a_lost_node_for_300_seconds_unless_they_say_otherwise() {
        let mut spec = json!({"containers": []});
        default_toleration_seconds(&mut spec);
        assert_eq!(
            spec["tolerations"][1]["key"],
            "node.kubernetes.io/unreachable"
        );
        assert_eq!(spec["tolerations"][1]["tolerationSeconds"], 300);
        let mut own = json!({"tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists"}]});
        default_toleration_seconds(&mut own);
        let keys: Vec<&str> = own["tolerations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["key"].as_str().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "node.kubernetes.io/unreachable",
                "node.kubernetes.io/not-ready"
            ]
        );
        for mut bad in [json!("x"), json!({"tolerations": "x"})] {
            let before = bad.clone();
            default_toleration_seconds(&mut bad);
            assert_eq!(bad, before);
        }
    }

    #[test]
    fn names_are_validated_as_upstream_words_it() {
        let ns = kinds::find("", "v1", "namespaces").unwrap();
        let cm = kinds::find("", "v1", "configmaps").unwrap();
        assert!(validate_name(ns, "kube-system").is_empty());
        assert!(
            !validate_name(ns, "a.b").is_empty(),
            "namespaces are labels"
        );
        assert!(validate_name(cm, "a.b").is_empty());
        let c = validate_name(cm, "Bad_Name");
        assert!(
            c[0].1
                .starts_with("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
        );
    }

    #[test]
    fn uids_are_v4_and_generated_names_are_unique() {
        let u = new_uid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(random_suffix(), random_suffix());
    }
}
