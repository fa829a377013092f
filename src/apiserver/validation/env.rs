//! Container environment: `env` (with its `valueFrom` sources) and `envFrom`.

use serde_json::Value;

use super::checks::supported;
use super::errs::Errs;
use super::formats::{config_key, env_var_name, name_is_subdomain, qualified_name};
use super::json::{present, qstr};
use super::path::Path;

const ONE_SOURCE_ONLY: &str = "may not have more than one field specified at a time";

pub(super) fn env(e: &mut Errs, c: &Value, p: &Path) {
    let Some(list) = e.arr(c, p, "env") else {
        return;
    };
    let ep = p.child("env");
    for (i, var) in list.iter().enumerate() {
        let ip = ep.index(i);
        if e.as_obj(var, &ip).is_none() {
            continue;
        }
        if let Some(name) = e.required_string(var, &ip, "name") {
            for msg in env_var_name(name) {
                e.invalid_str(&ip.child("name"), name, &msg);
            }
        }
        e.string(var, &ip, "value");
        env_value_from(e, var, &ip);
    }
}

fn env_value_from(e: &mut Errs, var: &Value, ip: &Path) {
    let Some(from) = e.obj(var, ip, "valueFrom") else {
        return;
    };
    let vp = ip.child("valueFrom");
    let mut sources = 0;
    if let Some(r) = e.obj(from, &vp, "fieldRef") {
        sources += 1;
        field_ref(e, r, &vp.child("fieldRef"));
    }
    if let Some(r) = e.obj(from, &vp, "resourceFieldRef") {
        sources += 1;
        resource_field_ref(e, r, &vp.child("resourceFieldRef"));
    }
    for key in ["configMapKeyRef", "secretKeyRef"] {
        if let Some(r) = e.obj(from, &vp, key) {
            sources += 1;
            key_selector(e, r, &vp.child(key));
        }
    }
    let value = qstr(var, "value").unwrap_or("");
    if sources == 0 {
        e.invalid(
            &vp,
            "\"\"",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        );
    } else if !value.is_empty() {
        e.invalid(
            &vp,
            "\"\"",
            "may not be specified when `value` is not empty",
        );
    } else if sources > 1 {
        e.invalid(&vp, "\"\"", ONE_SOURCE_ONLY);
    }
}

/// Downward API fields an env var may refer to (upstream's sorted list).
const ENV_FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// Field labels the v1 pod conversion knows at all.
const CONVERTIBLE_FIELD_PATHS: &[&str] = &[
    "metadata.annotations",
    "metadata.labels",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.serviceAccountName",
    "spec.schedulerName",
    "status.phase",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// `metadata.labels['x']` → ("metadata.labels", "x").
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let s = path.strip_suffix("']")?;
    let (base, sub) = s.split_once("['")?;
    (!base.is_empty()).then_some((base, sub))
}

fn field_ref(e: &mut Errs, r: &Value, p: &Path) {
    let version = match present(r, "apiVersion") {
        None => "v1",
        Some(_) => match e.required_string(r, p, "apiVersion") {
            Some(v) => v,
            None => return,
        },
    };
    let Some(field_path) = e.required_string(r, p, "fieldPath") else {
        return;
    };
    let fp = p.child("fieldPath");
    let conversion = if version != "v1" {
        Err(format!("unsupported pod version: {version}"))
    } else if let Some((base, _)) = split_subscript(field_path) {
        if matches!(base, "metadata.annotations" | "metadata.labels") {
            Ok(())
        } else {
            Err(format!(
                "field label does not support subscript: {field_path}"
            ))
        }
    } else if CONVERTIBLE_FIELD_PATHS.contains(&field_path) {
        Ok(())
    } else {
        Err(format!("field label not supported: {field_path}"))
    };
    if let Err(err) = conversion {
        e.invalid_str(
            &fp,
            field_path,
            &format!("error converting fieldPath: {err}"),
        );
        return;
    }
    match split_subscript(field_path) {
        Some(("metadata.annotations", sub)) => {
            let sub = sub.to_lowercase();
            for msg in qualified_name(&sub) {
                e.invalid_str(p, &sub, &msg);
            }
        }
        Some(("metadata.labels", sub)) => {
            for msg in qualified_name(sub) {
                e.invalid_str(p, sub, &msg);
            }
        }
        Some((base, _)) => e.invalid_str(p, base, "does not support subscript"),
        None => supported(e, &fp, field_path, ENV_FIELD_PATHS),
    }
}

const RESOURCE_FIELD_PATHS: &[&str] = &[
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

fn resource_field_ref(e: &mut Errs, r: &Value, p: &Path) {
    e.string(r, p, "containerName");
    let Some(resource) = e.required_string(r, p, "resource") else {
        return;
    };
    let hugepages =
        resource.starts_with("requests.hugepages-") || resource.starts_with("limits.hugepages-");
    if !hugepages {
        supported(e, &p.child("resource"), resource, RESOURCE_FIELD_PATHS);
    }
}

/// configMapKeyRef / secretKeyRef.
fn key_selector(e: &mut Errs, r: &Value, p: &Path) {
    let name = e.string(r, p, "name").unwrap_or("");
    for msg in name_is_subdomain(name, false) {
        e.invalid_str(&p.child("name"), name, &msg);
    }
    if let Some(key) = e.required_string(r, p, "key") {
        for msg in config_key(key) {
            e.invalid_str(&p.child("key"), key, &msg);
        }
    }
}

pub(super) fn env_from(e: &mut Errs, c: &Value, p: &Path) {
    let Some(list) = e.arr(c, p, "envFrom") else {
        return;
    };
    let ep = p.child("envFrom");
    for (i, item) in list.iter().enumerate() {
        let ip = ep.index(i);
        if e.as_obj(item, &ip).is_none() {
            continue;
        }
        if let Some(prefix) = e.string(item, &ip, "prefix")
            && !prefix.is_empty()
        {
            for msg in env_var_name(prefix) {
                e.invalid_str(&ip.child("prefix"), prefix, &msg);
            }
        }
        let mut sources = 0;
        for key in ["configMapRef", "secretRef"] {
            if let Some(r) = e.obj(item, &ip, key) {
                sources += 1;
                let rp = ip.child(key);
                if let Some(name) = e.required_string(r, &rp, "name") {
                    for msg in name_is_subdomain(name, true) {
                        e.invalid_str(&rp.child("name"), name, &msg);
                    }
                }
            }
        }
        // Upstream reports these at the list, not at the item.
        if sources == 0 {
            e.invalid(
                &ep,
                "\"\"",
                "must specify one of: `configMapRef` or `secretRef`",
            );
        } else if sources > 1 {
            e.invalid(&ep, "\"\"", ONE_SOURCE_ONLY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use serde_json::json;

    #[test]
    fn env_vars() {
        assert_only(
            &container_causes("env", json!([{"value": "x"}])),
            "spec.containers[0].env[0].name",
            "Required value",
        );
        assert_only(
            &container_causes("env", json!([{"name": "A=B"}])),
            "spec.containers[0].env[0].name",
            "Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
        );
        // Names that are not C identifiers are fine in 1.33.
        assert_eq!(
            container_causes("env", json!([{"name": "1-my.var"}])),
            vec![]
        );
        assert_only(
            &container_causes("env", json!([{"name": "A", "valueFrom": {}}])),
            "spec.containers[0].env[0].valueFrom",
            "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        );
        assert_only(
            &container_causes(
                "env",
                json!([{"name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
            ),
            "spec.containers[0].env[0].valueFrom",
            "Invalid value: \"\": may not be specified when `value` is not empty",
        );
        assert_only(
            &container_causes(
                "env",
                json!([{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "a b"}}}]),
            ),
            "spec.containers[0].env[0].valueFrom.configMapKeyRef.key",
            &format!("Invalid value: \"a b\": {CONFIG_KEY_ERR}"),
        );
        assert_only(
            &container_causes(
                "env",
                json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.foo"}}}]),
            ),
            "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
            "Invalid value: \"spec.foo\": error converting fieldPath: field label not supported: spec.foo",
        );
        assert_only(
            &container_causes(
                "env",
                json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}}]),
            ),
            "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
            "Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\"",
        );
        assert_eq!(
            container_causes(
                "env",
                json!([{"name": "A", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['app']"}}}])
            ),
            vec![]
        );
    }
}
