//! Validation of API objects held as JSON, following the checks the upstream
//! Kubernetes apiserver (1.33) makes and the words it uses for each failure.
//!
//! A failure is a [`Cause`]: the field path as upstream prints it and the
//! message body (`Required value`, `Invalid value: "x": …`). Values inside a
//! message are rendered the way Go renders them in 1.33 (`%q` for strings,
//! `%#v` for maps and structs), because that is what kubectl users read.
//!
//! Objects reach us already defaulted, so fields the apiserver would default
//! (restartPolicy, protocol, imagePullPolicy, strategy, …) are only checked
//! when present. A field of the wrong JSON type, which upstream would refuse
//! while decoding, becomes `Invalid value: <json>: must be <type>`.
//!
//! This file holds the entry points and the dispatch by kind; the checks
//! live in one submodule per job.

// Plumbing: field paths, collected causes, JSON access, Go-style rendering.
mod errs;
mod json;
mod path;
mod render;

// Formats and checks shared by several kinds.
mod checks;
mod formats;
mod intstr;
mod meta;
mod selector;

// Go parsers whose error texts upstream passes on.
mod base64;
mod cron;

// Pod specs and their parts.
mod container;
mod env;
mod pod;
mod template;
mod volume;

// One module per family of kinds.
mod batch;
mod config;
mod node;
mod service;
mod workloads;

#[cfg(test)]
mod fixtures;

use serde_json::Value;

use errs::Errs;
use path::Path;

/// One reason an object is invalid: the field path as upstream prints it
/// (`spec.template.spec.containers[0].name`) and the message.
pub type Cause = (String, String);

/// Causes for an object about to be created. `kind` is the Kind name
/// ("Pod", "Deployment", …).
pub fn validate_create(kind: &str, obj: &Value) -> Vec<Cause> {
    let mut e = Errs::default();
    object(&mut e, kind, obj, None);
    e.into_causes()
}

/// Causes for an update: everything [`validate_create`] checks on `new`, plus
/// what may not change compared with `old`.
pub fn validate_update(kind: &str, old: &Value, new: &Value) -> Vec<Cause> {
    let mut e = Errs::default();
    object(&mut e, kind, new, Some(old));
    if old.is_object() && new.is_object() {
        match kind {
            "Pod" => pod::pod_update(&mut e, old, new),
            "Deployment" | "ReplicaSet" | "DaemonSet" => {
                selector::selector_immutable(&mut e, old, new)
            }
            "StatefulSet" => workloads::stateful_set_update(&mut e, old, new),
            "Job" => batch::job_update(&mut e, old, new),
            "Service" => service::service_update(&mut e, old, new),
            "ConfigMap" => config::config_map_update(&mut e, old, new),
            "Secret" => config::secret_update(&mut e, old, new),
            _ => {}
        }
    }
    e.into_causes()
}

fn object(e: &mut Errs, kind: &str, obj: &Value, old: Option<&Value>) {
    let root = Path::root();
    if !obj.is_object() {
        e.type_error(&root, obj, "an object");
        return;
    }
    meta::object_meta(e, obj);
    match kind {
        "Pod" => with_spec(e, obj, |e, spec, sp| pod::pod_spec(e, spec, sp, true)),
        "PodTemplate" => {
            let template = e.obj_or_empty(obj, &root, "template");
            template::pod_template(e, template, &Path::new("template"));
        }
        "Deployment" => with_spec(e, obj, workloads::deployment_spec),
        "ReplicaSet" => with_spec(e, obj, workloads::replica_set_spec),
        "ReplicationController" => with_spec(e, obj, workloads::replication_controller_spec),
        "StatefulSet" => with_spec(e, obj, workloads::stateful_set_spec),
        "DaemonSet" => with_spec(e, obj, workloads::daemon_set_spec),
        "Job" => batch::job(e, obj, old.is_none()),
        "CronJob" => batch::cron_job(e, obj, old),
        "Service" => match old {
            Some(old) => service::service(e, &service::drop_type_dependent_fields(old, obj)),
            None => service::service(e, obj),
        },
        "ConfigMap" => config::config_map(e, obj),
        "Secret" => config::secret(e, obj),
        "Node" => node::node(e, obj),
        _ => {}
    }
}

/// Runs `check` on `obj.spec`, treating a missing spec as an empty one.
fn with_spec(e: &mut Errs, obj: &Value, check: fn(&mut Errs, &Value, &Path)) {
    let spec = e.obj_or_empty(obj, &Path::root(), "spec");
    check(e, spec, &Path::new("spec"));
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::{Cause, validate_create, validate_update};
    use serde_json::{Value, json};

    #[test]
    fn valid_objects_pass() {
        let headless = json!({
            "metadata": {"name": "db"},
            "spec": {"clusterIP": "None", "selector": {"app": "db"}, "type": "ClusterIP"}
        });
        let external = json!({
            "metadata": {"name": "ext"},
            "spec": {"type": "ExternalName", "externalName": "example.com.", "sessionAffinity": "None"}
        });
        let node_port = json!({
            "metadata": {"name": "np"},
            "spec": {
                "type": "NodePort",
                "ports": [{"port": 80, "targetPort": "http", "nodePort": 30080, "protocol": "TCP"}],
                "externalTrafficPolicy": "Cluster"
            }
        });
        let config_map = json!({
            "metadata": {"name": "cfg"},
            "data": {"app.properties": "a=b", "KEY_NAME": "x"},
            "binaryData": {"blob": "aGVsbG8="}
        });
        let tls = json!({
            "metadata": {"name": "tls"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": "Y2VydA==", "tls.key": "a2V5"}
        });
        let node = json!({
            "metadata": {"name": "n1"},
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}
        });
        let cases = [
            ("Pod", pod()),
            ("Deployment", deployment()),
            ("StatefulSet", stateful_set()),
            ("DaemonSet", daemon_set()),
            ("Job", job()),
            ("CronJob", cron_job()),
            ("Service", service()),
            ("Service", headless),
            ("Service", external),
            ("Service", node_port),
            ("ConfigMap", config_map),
            ("Secret", tls),
            ("Node", node),
            ("Namespace", json!({"metadata": {"name": "dev"}})),
        ];
        for (kind, obj) in cases {
            assert_eq!(
                validate_create(kind, &obj),
                Vec::<Cause>::new(),
                "{kind}: {obj}"
            );
            assert_eq!(
                validate_update(kind, &obj, &obj),
                Vec::<Cause>::new(),
                "{kind} update"
            );
        }
    }

    #[test]
    fn wrong_json_types_do_not_panic() {
        let odd = [
            json!(null),
            json!(1),
            json!("x"),
            json!([1, 2]),
            json!(true),
            json!({"a": [null, {}]}),
            json!(-1.5),
        ];
        let kinds = [
            "Pod",
            "PodTemplate",
            "Deployment",
            "ReplicaSet",
            "ReplicationController",
            "StatefulSet",
            "DaemonSet",
            "Job",
            "CronJob",
            "Service",
            "ConfigMap",
            "Secret",
            "Node",
            "Namespace",
        ];
        let fixtures = [
            pod(),
            deployment(),
            stateful_set(),
            daemon_set(),
            job(),
            cron_job(),
            service(),
        ];
        for kind in kinds {
            for v in &odd {
                validate_create(kind, v);
                validate_update(kind, v, v);
                for fixture in &fixtures {
                    // Replace every node of the fixture, one at a time.
                    for ptr in pointers(fixture, String::new()) {
                        let mut broken = fixture.clone();
                        *broken.pointer_mut(&ptr).unwrap() = v.clone();
                        validate_create(kind, &broken);
                        validate_update(kind, fixture, &broken);
                        validate_update(kind, &broken, fixture);
                    }
                }
            }
        }
    }

    fn pointers(v: &Value, prefix: String) -> Vec<String> {
        let mut out = vec![prefix.clone()];
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let k = k.replace('~', "~0").replace('/', "~1");
                    out.extend(pointers(child, format!("{prefix}/{k}")));
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    out.extend(pointers(child, format!("{prefix}/{i}")));
                }
            }
            _ => {}
        }
        out
    }
}
