//! Containers and init containers: names, images, ports, probes and
//! lifecycle handlers.

use std::collections::BTreeSet;

use serde_json::Value;

use super::checks::{
    nonnegative, one_of, port_num_or_name, protocol, required_dns_label, supported,
};
use super::env::{env, env_from};
use super::errs::Errs;
use super::formats::{port_name, port_number};
use super::json::{present, qarr, qint, qstr};
use super::path::Path;
use super::render::quote;
use super::volume::volume_mounts;

const NOT_FOR_INIT: &str = "may not be set for init containers without restartPolicy=Always";
const HANDLER_MISSING: &str = "must specify a handler type";
const HANDLER_MULTI: &str = "may not specify more than 1 handler type";

/// spec.containers: required, each valid, names unique.
pub(super) fn containers(
    e: &mut Errs,
    spec: &Value,
    sp: &Path,
    volumes: &BTreeSet<String>,
    is_pod: bool,
) {
    let cp = sp.child("containers");
    let list = match present(spec, "containers") {
        None => &[][..],
        Some(_) => match e.arr(spec, sp, "containers") {
            Some(list) => list,
            None => return,
        },
    };
    if list.is_empty() {
        e.required(&cp, "");
        return;
    }
    let mut names = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let p = cp.index(i);
        if e.as_obj(c, &p).is_none() {
            continue;
        }
        container(e, c, &p, volumes, is_pod);
        let name = qstr(c, "name").unwrap_or("");
        if !names.insert(name) {
            e.duplicate(&p.child("name"), &quote(name));
        }
        lifecycle(e, c, &p);
        probes(e, c, &p);
        if present(c, "restartPolicy").is_some() {
            e.forbidden(
                &p.child("restartPolicy"),
                "may not be set for non-init containers",
            );
        }
    }
    host_port_conflicts(e, list, &cp);
}

pub(super) fn init_containers(
    e: &mut Errs,
    spec: &Value,
    sp: &Path,
    volumes: &BTreeSet<String>,
    is_pod: bool,
) {
    let Some(list) = e.arr(spec, sp, "initContainers") else {
        return;
    };
    let cp = sp.child("initContainers");
    let mut names: BTreeSet<&str> = qarr(spec, "containers")
        .iter()
        .map(|c| qstr(c, "name").unwrap_or(""))
        .collect();
    for (i, c) in list.iter().enumerate() {
        let p = cp.index(i);
        if e.as_obj(c, &p).is_none() {
            continue;
        }
        container(e, c, &p, volumes, is_pod);
        let mut restart_always = false;
        if let Some(rp) = e.string(c, &p, "restartPolicy") {
            restart_always = rp == "Always";
            supported(e, &p.child("restartPolicy"), rp, &["Always"]);
        }
        let name = qstr(c, "name").unwrap_or("");
        if names.contains(name) {
            e.duplicate(&p.child("name"), &quote(name));
        } else if !name.is_empty() {
            names.insert(name);
        }
        host_port_conflicts(e, std::slice::from_ref(c), &cp);
        if restart_always {
            lifecycle(e, c, &p);
            probes(e, c, &p);
        } else {
            for key in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if present(c, key).is_some() {
                    e.forbidden(&p.child(key), NOT_FOR_INIT);
                }
            }
        }
    }
}

/// What every container kind must satisfy.
fn container(e: &mut Errs, c: &Value, p: &Path, volumes: &BTreeSet<String>, is_pod: bool) {
    required_dns_label(e, c, p, "name");
    if let Some(image) = e.required_string(c, p, "image")
        && is_pod
        && image.trim() != image
    {
        e.invalid_str(
            &p.child("image"),
            image,
            "must not have leading or trailing whitespace",
        );
    }
    if let Some(tmp) = e.string(c, p, "terminationMessagePolicy") {
        one_of(
            e,
            &p.child("terminationMessagePolicy"),
            tmp,
            &["File", "FallbackToLogsOnError"],
        );
    }
    container_ports(e, c, p);
    env(e, c, p);
    env_from(e, c, p);
    volume_mounts(e, c, p, volumes);
    if let Some(policy) = e.string(c, p, "imagePullPolicy") {
        one_of(
            e,
            &p.child("imagePullPolicy"),
            policy,
            &["Always", "IfNotPresent", "Never"],
        );
    }
}

fn container_ports(e: &mut Errs, c: &Value, p: &Path) {
    let Some(ports) = e.arr(c, p, "ports") else {
        return;
    };
    let pp = p.child("ports");
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = pp.index(i);
        if e.as_obj(port, &ip).is_none() {
            continue;
        }
        if let Some(name) = e.string(port, &ip, "name")
            && !name.is_empty()
        {
            let msgs = port_name(name);
            if !msgs.is_empty() {
                for msg in msgs {
                    e.invalid_str(&ip.child("name"), name, &msg);
                }
            } else if !names.insert(name) {
                e.duplicate(&ip.child("name"), &quote(name));
            }
        }
        let container_port = e.int(port, &ip, "containerPort");
        if present(port, "containerPort").is_none() || container_port == Some(0) {
            e.required(&ip.child("containerPort"), "");
        } else if let Some(n) = container_port {
            for msg in port_number(n) {
                e.invalid_int(&ip.child("containerPort"), n, &msg);
            }
        }
        if let Some(n) = e.int(port, &ip, "hostPort")
            && n != 0
        {
            for msg in port_number(n) {
                e.invalid_int(&ip.child("hostPort"), n, &msg);
            }
        }
        if let Some(proto) = e.string(port, &ip, "protocol") {
            protocol(e, &ip.child("protocol"), proto);
        }
    }
}

/// Host ports may not repeat for the same protocol and host IP.
fn host_port_conflicts(e: &mut Errs, containers: &[Value], cp: &Path) {
    let mut seen = BTreeSet::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, port) in qarr(c, "ports").iter().enumerate() {
            let host_port = qint(port, "hostPort").unwrap_or(0);
            if host_port == 0 {
                continue;
            }
            let key = format!(
                "{}/{}/{}",
                qstr(port, "protocol").unwrap_or("TCP"),
                qstr(port, "hostIP").unwrap_or(""),
                host_port
            );
            if !seen.insert(key.clone()) {
                let path = cp.index(ci).child("ports").index(pi).child("hostPort");
                e.duplicate(&path, &quote(&key));
            }
        }
    }
}

/// With hostNetwork, a pod's hostPort must equal containerPort; templates may
/// leave hostPort unset.
pub(super) fn host_network_ports(e: &mut Errs, spec: &Value, sp: &Path, is_pod: bool) {
    if e.boolean(spec, sp, "hostNetwork") != Some(true) {
        return;
    }
    for (ci, c) in qarr(spec, "containers").iter().enumerate() {
        for (pi, port) in qarr(c, "ports").iter().enumerate() {
            let host_port = qint(port, "hostPort").unwrap_or(0);
            let container_port = qint(port, "containerPort").unwrap_or(0);
            if (is_pod || host_port != 0) && host_port != container_port {
                let path = sp
                    .child("containers")
                    .index(ci)
                    .child("ports")
                    .index(pi)
                    .child("hostPort");
                e.invalid_int(
                    &path,
                    host_port,
                    "must match `containerPort` when `hostNetwork` is true",
                );
            }
        }
    }
}

fn lifecycle(e: &mut Errs, c: &Value, p: &Path) {
    let Some(lc) = e.obj(c, p, "lifecycle") else {
        return;
    };
    let lp = p.child("lifecycle");
    for key in ["postStart", "preStop"] {
        if let Some(h) = e.obj(lc, &lp, key) {
            handler(
                e,
                h,
                &lp.child(key),
                &["exec", "httpGet", "tcpSocket", "sleep"],
            );
        }
    }
}

fn probes(e: &mut Errs, c: &Value, p: &Path) {
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(probe) = e.obj(c, p, key) else {
            continue;
        };
        let pp = p.child(key);
        handler(e, probe, &pp, &["exec", "httpGet", "tcpSocket", "grpc"]);
        for field in [
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ] {
            nonnegative(e, probe, &pp, field);
        }
        let grace = e.int(probe, &pp, "terminationGracePeriodSeconds");
        if let Some(n) = grace
            && n <= 0
        {
            e.invalid_int(
                &pp.child("terminationGracePeriodSeconds"),
                n,
                "must be greater than 0",
            );
        }
        if key == "readinessProbe" {
            if let Some(n) = grace {
                e.invalid_int(
                    &pp.child("terminationGracePeriodSeconds"),
                    n,
                    "must not be set for readinessProbes",
                );
            }
        } else if let Some(n) = qint(probe, "successThreshold")
            && n != 1
        {
            e.invalid_int(&pp.child("successThreshold"), n, "must be 1");
        }
    }
}

/// Probe and lifecycle handlers: exactly one action.
fn handler(e: &mut Errs, h: &Value, hp: &Path, kinds: &[&str]) {
    let mut count = 0;
    for kind in kinds {
        let Some(action) = e.obj(h, hp, kind) else {
            continue;
        };
        let ap = hp.child(kind);
        if count > 0 {
            e.forbidden(&ap, HANDLER_MULTI);
            continue;
        }
        count += 1;
        match *kind {
            "exec" if e.string_list(action, &ap, "command").is_empty() => {
                e.required(&ap.child("command"), "");
            }
            "httpGet" => {
                if e.string(action, &ap, "path") == Some("") {
                    e.required(&ap.child("path"), "");
                }
                port_num_or_name(e, action, &ap, "port");
                if let Some(scheme) = e.string(action, &ap, "scheme") {
                    supported(e, &ap.child("scheme"), scheme, &["HTTP", "HTTPS"]);
                }
            }
            "tcpSocket" => port_num_or_name(e, action, &ap, "port"),
            "grpc" => {
                let port = e.int(action, &ap, "port").unwrap_or(0);
                for msg in port_number(port) {
                    e.invalid_int(&ap.child("port"), port, &msg);
                }
            }
            _ => {}
        }
    }
    if count == 0 {
        e.required(hp, HANDLER_MISSING);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::validate_create;
    use serde_json::json;

    #[test]
    fn containers_required() {
        let mut p = pod();
        set(&mut p, "/spec/containers", json!([]));
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers",
            "Required value",
        );
        remove(&mut p, "/spec/containers");
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers",
            "Required value",
        );
    }

    #[test]
    fn container_names() {
        assert_only(
            &container_causes("name", json!("Foo")),
            "spec.containers[0].name",
            &format!("Invalid value: \"Foo\": {DNS_LABEL_ERR}"),
        );
        assert_only(
            &container_causes("name", json!("")),
            "spec.containers[0].name",
            "Required value",
        );
        assert_only(
            &container_causes("name", json!("a.b")),
            "spec.containers[0].name",
            "Invalid value: \"a.b\": must not contain dots",
        );
        let mut p = pod();
        let c = p["spec"]["containers"][0].clone();
        set(&mut p, "/spec/containers", json!([c.clone(), c]));
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[1].name",
            "Duplicate value: \"nginx\"",
        );
    }

    #[test]
    fn image_required_for_pods_and_templates() {
        let mut p = pod();
        remove(&mut p, "/spec/containers/0/image");
        assert_only(
            &validate_create("Pod", &p),
            "spec.containers[0].image",
            "Required value",
        );
        let mut d = deployment();
        remove(&mut d, "/spec/template/spec/containers/0/image");
        assert_only(
            &validate_create("Deployment", &d),
            "spec.template.spec.containers[0].image",
            "Required value",
        );
        assert_only(
            &container_causes("image", json!(" nginx")),
            "spec.containers[0].image",
            "Invalid value: \" nginx\": must not have leading or trailing whitespace",
        );
    }

    #[test]
    fn container_ports() {
        let p = "spec.containers[0].ports[0]";
        assert_only(
            &container_causes("ports", json!([{"containerPort": 70000}])),
            &format!("{p}.containerPort"),
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        );
        assert_only(
            &container_causes("ports", json!([{"containerPort": -1}])),
            &format!("{p}.containerPort"),
            "Invalid value: -1: must be between 1 and 65535, inclusive",
        );
        // A zero port is an unset one upstream.
        assert_only(
            &container_causes("ports", json!([{"containerPort": 0}])),
            &format!("{p}.containerPort"),
            "Required value",
        );
        assert_only(
            &container_causes("ports", json!([{"containerPort": 80, "protocol": "HTTP"}])),
            &format!("{p}.protocol"),
            "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        );
        assert_only(
            &container_causes("ports", json!([{"containerPort": 80, "hostPort": 99999}])),
            &format!("{p}.hostPort"),
            "Invalid value: 99999: must be between 1 and 65535, inclusive",
        );
        let causes = container_causes("ports", json!([{"containerPort": 80, "name": "Web--1-"}]));
        for msg in [
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "must not contain consecutive hyphens",
            "must not begin or end with a hyphen",
        ] {
            assert_cause(
                &causes,
                &format!("{p}.name"),
                &format!("Invalid value: \"Web--1-\": {msg}"),
            );
        }
        assert_only(
            &container_causes(
                "ports",
                json!([{"containerPort": 80, "name": "a-very-long-port-name"}]),
            ),
            &format!("{p}.name"),
            "Invalid value: \"a-very-long-port-name\": must be no more than 15 characters",
        );
        assert_only(
            &container_causes("ports", json!([{"containerPort": 80, "name": "8080"}])),
            &format!("{p}.name"),
            "Invalid value: \"8080\": must contain at least one letter (a-z)",
        );
        assert_only(
            &container_causes(
                "ports",
                json!([{"containerPort": 80, "name": "web"}, {"containerPort": 81, "name": "web"}]),
            ),
            "spec.containers[0].ports[1].name",
            "Duplicate value: \"web\"",
        );
        assert_only(
            &container_causes(
                "ports",
                json!([{"containerPort": 80, "hostPort": 80}, {"containerPort": 81, "hostPort": 80}]),
            ),
            "spec.containers[0].ports[1].hostPort",
            "Duplicate value: \"TCP//80\"",
        );
    }

    #[test]
    fn probes_and_lifecycle() {
        assert_only(
            &container_causes("livenessProbe", json!({"periodSeconds": 10})),
            "spec.containers[0].livenessProbe",
            "Required value: must specify a handler type",
        );
        assert_only(
            &container_causes(
                "readinessProbe",
                json!({"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}),
            ),
            "spec.containers[0].readinessProbe.tcpSocket",
            "Forbidden: may not specify more than 1 handler type",
        );
        let causes = container_causes(
            "livenessProbe",
            json!({"httpGet": {"port": 0}, "successThreshold": 2}),
        );
        assert_cause(
            &causes,
            "spec.containers[0].livenessProbe.httpGet.port",
            "Invalid value: 0: must be between 1 and 65535, inclusive",
        );
        assert_cause(
            &causes,
            "spec.containers[0].livenessProbe.successThreshold",
            "Invalid value: 2: must be 1",
        );
        assert_only(
            &container_causes(
                "startupProbe",
                json!({"tcpSocket": {"port": 80}, "successThreshold": 2}),
            ),
            "spec.containers[0].startupProbe.successThreshold",
            "Invalid value: 2: must be 1",
        );
        let causes = container_causes("readinessProbe", json!({"exec": {}, "periodSeconds": -1}));
        assert_cause(
            &causes,
            "spec.containers[0].readinessProbe.exec.command",
            "Required value",
        );
        assert_cause(
            &causes,
            "spec.containers[0].readinessProbe.periodSeconds",
            "Invalid value: -1: must be greater than or equal to 0",
        );
        assert_only(
            &container_causes(
                "readinessProbe",
                json!({"tcpSocket": {"port": 80}, "terminationGracePeriodSeconds": 5}),
            ),
            "spec.containers[0].readinessProbe.terminationGracePeriodSeconds",
            "Invalid value: 5: must not be set for readinessProbes",
        );
        assert_only(
            &container_causes("lifecycle", json!({"preStop": {}})),
            "spec.containers[0].lifecycle.preStop",
            "Required value: must specify a handler type",
        );
        let mut p = pod();
        let mut init = p["spec"]["containers"][0].clone();
        init["name"] = json!("init");
        init["livenessProbe"] = json!({"exec": {"command": ["true"]}});
        set(&mut p, "/spec/initContainers", json!([init]));
        assert_only(
            &validate_create("Pod", &p),
            "spec.initContainers[0].livenessProbe",
            "Forbidden: may not be set for init containers without restartPolicy=Always",
        );
    }

    #[test]
    fn init_containers() {
        let mut p = pod();
        let mut init = p["spec"]["containers"][0].clone();
        init["restartPolicy"] = json!("OnFailure");
        set(&mut p, "/spec/initContainers", json!([init]));
        let causes = validate_create("Pod", &p);
        assert_cause(
            &causes,
            "spec.initContainers[0].restartPolicy",
            "Unsupported value: \"OnFailure\": supported values: \"Always\"",
        );
        assert_cause(
            &causes,
            "spec.initContainers[0].name",
            "Duplicate value: \"nginx\"",
        );
        assert_only(
            &container_causes("restartPolicy", json!("Always")),
            "spec.containers[0].restartPolicy",
            "Forbidden: may not be set for non-init containers",
        );
    }
}
