//! Services, and what an update may not change about their cluster IPs.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::checks::{one_of, port_num_or_name, protocol, supported};
use super::errs::Errs;
use super::formats::{
    dns1123_label, dns1123_subdomain, is_cidr, parse_ip, port_number, qualified_name,
};
use super::json::{present, qarr, qint, qstr, same_opt, spec_of};
use super::meta::labels;
use super::path::Path;
use super::render::{go_strings, quote, render_opt};

const INVALID_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
const INVALID_CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";
const ONLY_LOAD_BALANCER: &str = "may only be used when `type` is 'LoadBalancer'";
const MAY_NOT_CHANGE: &str = "may not change once set";

/// spec.clusterIPs as the apiserver sees it: the strategy fills clusterIPs
/// from clusterIP when only the latter is given.
fn cluster_ips(spec: &Value) -> Vec<&str> {
    let ips: Vec<&str> = qarr(spec, "clusterIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !ips.is_empty() {
        return ips;
    }
    match qstr(spec, "clusterIP") {
        Some(ip) if !ip.is_empty() => vec![ip],
        _ => Vec::new(),
    }
}

pub(super) fn service(e: &mut Errs, obj: &Value) {
    let spec = e.obj_or_empty(obj, &Path::root(), "spec");
    let sp = Path::new("spec");
    let kind = match present(spec, "type") {
        None => "ClusterIP",
        Some(_) => e.string(spec, &sp, "type").unwrap_or("ClusterIP"),
    };
    let cluster_ip = e.string(spec, &sp, "clusterIP").unwrap_or("");
    e.string_list(spec, &sp, "clusterIPs");
    let ips = cluster_ips(spec);
    let headless = ips == ["None"];
    // A wrong-typed ports field is already reported; don't also call it missing.
    let ports_wrong_type = present(spec, "ports").is_some_and(|v| !v.is_array());
    let ports = e.arr(spec, &sp, "ports").unwrap_or(&[]);
    if ports.is_empty() && !ports_wrong_type && !headless && kind != "ExternalName" {
        e.required(&sp.child("ports"), "");
    }
    match kind {
        "LoadBalancer" | "NodePort" if headless => e.invalid_str(
            &sp.child("clusterIPs").index(0),
            "None",
            &format!("may not be set to 'None' for {kind} services"),
        ),
        "ExternalName" => {
            for key in ["clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                let set = match key {
                    "clusterIPs" => !ips.is_empty(),
                    _ => present(spec, key)
                        .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty())),
                };
                if set {
                    e.forbidden(&sp.child(key), "may not be set for ExternalName services");
                }
            }
            let name = e.string(spec, &sp, "externalName").unwrap_or("");
            // A trailing dot marks the name as fully qualified.
            let cname = name.strip_suffix('.').unwrap_or(name);
            if cname.is_empty() {
                e.required(&sp.child("externalName"), "");
            } else {
                for msg in dns1123_subdomain(cname) {
                    e.invalid_str(&sp.child("externalName"), cname, &msg);
                }
            }
        }
        _ => {}
    }
    service_ports(e, ports, &sp.child("ports"));
    labels(e, spec, &sp, "selector");
    session_affinity(e, spec, &sp);
    if kind != "ExternalName" {
        service_cluster_ips(e, spec, &sp, cluster_ip, &ips, headless);
    }
    for (i, ip) in e
        .string_list(spec, &sp, "externalIPs")
        .into_iter()
        .enumerate()
    {
        if parse_ip(ip).is_none() {
            e.invalid_str(&sp.child("externalIPs").index(i), ip, INVALID_IP);
        }
    }
    if present(spec, "type").is_some() {
        let valid = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
        one_of(e, &sp.child("type"), kind, &valid);
    }
    service_port_uniqueness(e, ports, &sp.child("ports"), kind);
    // Upstream capitalises this path.
    let ranges_path = sp.child("LoadBalancerSourceRanges");
    let ranges = e.string_list(spec, &sp, "loadBalancerSourceRanges");
    if !ranges.is_empty() && kind != "LoadBalancer" {
        e.forbidden(&ranges_path, ONLY_LOAD_BALANCER);
    }
    for (i, range) in ranges.iter().enumerate() {
        let range = range.trim();
        if !is_cidr(range) {
            e.invalid_str(&ranges_path.index(i), range, INVALID_CIDR);
        }
    }
    if e.boolean(spec, &sp, "allocateLoadBalancerNodePorts")
        .is_some()
        && kind != "LoadBalancer"
    {
        e.forbidden(
            &sp.child("allocateLoadBalancerNodePorts"),
            ONLY_LOAD_BALANCER,
        );
    }
    let external = matches!(kind, "LoadBalancer" | "NodePort")
        || (kind == "ClusterIP" && !qarr(spec, "externalIPs").is_empty());
    if let Some(policy) = e.string(spec, &sp, "externalTrafficPolicy") {
        let p = sp.child("externalTrafficPolicy");
        if !external {
            if !policy.is_empty() {
                e.invalid_str(
                    &p,
                    policy,
                    "may only be set for externally-accessible services",
                );
            }
        } else {
            one_of(e, &p, policy, &["Cluster", "Local"]);
        }
    }
    if let Some(policy) = e.string(spec, &sp, "internalTrafficPolicy") {
        supported(
            e,
            &sp.child("internalTrafficPolicy"),
            policy,
            &["Cluster", "Local"],
        );
    }
}

fn service_ports(e: &mut Errs, ports: &[Value], pp: &Path) {
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let ip = pp.index(i);
        if e.as_obj(port, &ip).is_none() {
            continue;
        }
        let name = e.string(port, &ip, "name").unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            e.required(&ip.child("name"), "");
        } else if !name.is_empty() {
            for msg in dns1123_label(name) {
                e.invalid_str(&ip.child("name"), name, &msg);
            }
            if !names.insert(name) {
                e.duplicate(&ip.child("name"), &quote(name));
            }
        }
        let number = e.int(port, &ip, "port").unwrap_or(0);
        for msg in port_number(number) {
            e.invalid_int(&ip.child("port"), number, &msg);
        }
        if let Some(proto) = e.string(port, &ip, "protocol") {
            protocol(e, &ip.child("protocol"), proto);
        }
        // An unset targetPort is defaulted to the port.
        if present(port, "targetPort").is_some() {
            port_num_or_name(e, port, &ip, "targetPort");
        }
        if let Some(app) = e.string(port, &ip, "appProtocol") {
            for msg in qualified_name(app) {
                e.invalid_str(&ip.child("appProtocol"), app, &msg);
            }
        }
        e.int(port, &ip, "nodePort");
    }
}

fn service_port_uniqueness(e: &mut Errs, ports: &[Value], pp: &Path, kind: &str) {
    if kind == "ClusterIP" {
        for (i, port) in ports.iter().enumerate() {
            if qint(port, "nodePort").unwrap_or(0) != 0 {
                e.forbidden(
                    &pp.index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                );
            }
        }
    }
    let mut node_ports = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let node_port = qint(port, "nodePort").unwrap_or(0);
        let proto = qstr(port, "protocol").unwrap_or("TCP");
        if node_port != 0 && !node_ports.insert((proto, node_port)) {
            e.duplicate(&pp.index(i).child("nodePort"), &node_port.to_string());
        }
    }
    let mut seen = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let proto = qstr(port, "protocol").unwrap_or("TCP");
        let number = qint(port, "port").unwrap_or(0);
        if !seen.insert((proto, number)) {
            // Upstream prints the (protocol, port) key as a Go struct.
            e.duplicate(
                &pp.index(i),
                &format!(
                    "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{number}, \
TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
                    quote(proto)
                ),
            );
        }
    }
}

fn session_affinity(e: &mut Errs, spec: &Value, sp: &Path) {
    let Some(affinity) = e.string(spec, sp, "sessionAffinity") else {
        return;
    };
    let p = sp.child("sessionAffinity");
    let config = sp.child("sessionAffinityConfig");
    match affinity {
        "" => e.required(&p, ""),
        "ClientIP" => {
            let timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.get("clientIP"))
                .and_then(|c| qint(c, "timeoutSeconds"));
            if let Some(t) = timeout
                && !(1..=86400).contains(&t)
            {
                e.invalid_int(
                    &config.child("clientIP").child("timeoutSeconds"),
                    t,
                    "must be greater than 0 and less than 86400",
                );
            }
        }
        "None" => {
            if present(spec, "sessionAffinityConfig").is_some() {
                e.forbidden(&config, "must not be set when session affinity is None");
            }
        }
        _ => e.not_supported(&p, &quote(affinity), &["ClientIP", "None"]),
    }
}

fn service_cluster_ips(
    e: &mut Errs,
    spec: &Value,
    sp: &Path,
    cluster_ip: &str,
    ips: &[&str],
    headless: bool,
) {
    let p = sp.child("clusterIPs");
    if !cluster_ip.is_empty() && ips.first() != Some(&cluster_ip) {
        e.invalid(&p, &go_strings(ips), "first value must match `clusterIP`");
    }
    let families = e.string_list(spec, sp, "ipFamilies");
    let mut seen = BTreeSet::new();
    for (i, family) in families.iter().enumerate() {
        let fp = sp.child("ipFamilies").index(i);
        supported(e, &fp, family, &["IPv4", "IPv6"]);
        if !seen.insert(*family) {
            e.duplicate(&fp, &quote(family));
        }
    }
    if let Some(policy) = e.string(spec, sp, "ipFamilyPolicy") {
        let valid = ["PreferDualStack", "RequireDualStack", "SingleStack"];
        supported(e, &sp.child("ipFamilyPolicy"), policy, &valid);
    }
    let mut bad = false;
    for (i, ip) in ips.iter().enumerate() {
        if i == 0 && *ip == "None" {
            if ips.len() > 1 {
                bad = true;
                e.invalid(
                    &p,
                    &go_strings(ips),
                    "'None' must be the first and only value",
                );
            }
            continue;
        }
        if parse_ip(ip).is_none() {
            bad = true;
            e.invalid_str(&p.index(i), ip, INVALID_IP);
        }
    }
    if ips.len() > 2 {
        e.invalid(&p, &go_strings(ips), "may only hold up to 2 values");
    }
    if bad {
        return;
    }
    if ips.len() == 2 {
        let v6 = |ip: &str| parse_ip(ip).is_some_and(|a| a.is_ipv6());
        if v6(ips[0]) == v6(ips[1]) {
            e.invalid(
                &p,
                &go_strings(ips),
                "may specify no more than one IP for each IP family",
            );
        }
    }
    if !headless {
        for (i, (ip, family)) in ips.iter().zip(families.iter()).enumerate() {
            let is_v6 = parse_ip(ip).is_some_and(|a| a.is_ipv6());
            if *family == "IPv4" && is_v6 {
                e.invalid_str(
                    &p.index(i),
                    ip,
                    &format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                );
            }
            if *family == "IPv6" && !is_v6 {
                e.invalid_str(
                    &p.index(i),
                    ip,
                    &format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                );
            }
        }
    }
}

/// A stored Service's type, read quietly: ClusterIP unless a string is set.
fn service_type(t: Option<&Value>) -> &str {
    t.and_then(Value::as_str).unwrap_or("ClusterIP")
}

/// When a Service changes type, the apiserver drops the fields the old type
/// needed and the new one may not have, if the update left them unchanged.
pub(super) fn drop_type_dependent_fields(old: &Value, new: &Value) -> Value {
    let mut new = new.clone();
    let Some(old_spec) = old.get("spec") else {
        return new;
    };
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return new;
    };
    let old_kind = service_type(old_spec.get("type"));
    let new_kind = service_type(spec.get("type")).to_string();
    let node_ports = |k: &str| matches!(k, "NodePort" | "LoadBalancer");
    let drop_if_same = |spec: &mut Map<String, Value>, key: &str| {
        if same_opt(
            present(old_spec, key),
            spec.get(key).filter(|v| !v.is_null()),
        ) {
            spec.remove(key);
        }
    };
    if old_kind != "ExternalName" && new_kind == "ExternalName" {
        for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            drop_if_same(spec, key);
        }
    }
    if node_ports(old_kind) && !node_ports(&new_kind) {
        drop_if_same(spec, "externalTrafficPolicy");
        if let Some(Value::Array(ports)) = spec.get_mut("ports") {
            for (i, port) in ports.iter_mut().enumerate() {
                let before = qarr(old_spec, "ports")
                    .get(i)
                    .and_then(|p| qint(p, "nodePort"));
                if let Some(port) = port.as_object_mut()
                    && before.is_some()
                    && port.get("nodePort").and_then(Value::as_i64) == before
                {
                    port.remove("nodePort");
                }
            }
        }
    }
    new
}

/// Allocated cluster IPs may not change. An update that leaves them out keeps
/// the old ones (kubectl apply does this), as the apiserver does.
pub(super) fn service_update(e: &mut Errs, old: &Value, new: &Value) {
    let old_spec = spec_of(old);
    let new_spec = spec_of(new);
    if service_type(old_spec.get("type")) == "ExternalName"
        || service_type(new_spec.get("type")) == "ExternalName"
    {
        return;
    }
    let old_ips = cluster_ips(old_spec);
    let mut new_ips = cluster_ips(new_spec);
    if new_ips.is_empty() {
        new_ips = old_ips.clone();
    }
    if old_ips == ["None"] && new_ips == ["None"] {
        return;
    }
    let p = Path::new("spec.clusterIPs");
    let rendered = go_strings(&new_ips);
    if old_ips.len() == new_ips.len() {
        for (i, ip) in old_ips.iter().enumerate() {
            if *ip != new_ips[i] {
                e.invalid(&p.index(i), &rendered, MAY_NOT_CHANGE);
            }
        }
    } else if !old_ips.is_empty() && old_ips[0] != new_ips[0] {
        e.invalid(&p.index(0), &rendered, MAY_NOT_CHANGE);
    } else if old_ips.len() > new_ips.len()
        && new_ips.len() == 1
        && qstr(new_spec, "ipFamilyPolicy") != Some("SingleStack")
    {
        e.invalid(
            &Path::new("spec.ipFamilyPolicy"),
            &render_opt(present(new_spec, "ipFamilyPolicy")),
            "must be set to 'SingleStack' when releasing the secondary clusterIP",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::{validate_create, validate_update};
    use serde_json::json;

    #[test]
    fn service_rules() {
        let mut s = service();
        set(&mut s, "/spec/type", json!("Internal"));
        assert_only(
            &validate_create("Service", &s),
            "spec.type",
            "Unsupported value: \"Internal\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        );
        let mut s = service();
        set(&mut s, "/spec/ports", json!([]));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports",
            "Required value",
        );
        let mut s = service();
        set(&mut s, "/spec/ports/0/port", json!(0));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports[0].port",
            "Invalid value: 0: must be between 1 and 65535, inclusive",
        );
        let mut s = service();
        set(
            &mut s,
            "/spec/ports",
            json!([{"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}]),
        );
        let causes = validate_create("Service", &s);
        assert_cause(&causes, "spec.ports[0].name", "Required value");
        assert_cause(&causes, "spec.ports[1].name", "Required value");
        set(
            &mut s,
            "/spec/ports",
            json!([{"name": "a", "port": 80, "protocol": "TCP"}, {"name": "a", "port": 80, "protocol": "TCP"}]),
        );
        let causes = validate_create("Service", &s);
        assert_cause(&causes, "spec.ports[1].name", "Duplicate value: \"a\"");
        assert_cause(
            &causes,
            "spec.ports[1]",
            "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
        );
        let mut s = service();
        set(&mut s, "/spec/ports/0/protocol", json!("ICMP"));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports[0].protocol",
            "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        );
        let mut s = service();
        set(&mut s, "/spec/ports/0/targetPort", json!(70000));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports[0].targetPort",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        );
        set(&mut s, "/spec/ports/0/targetPort", json!("HTTP"));
        assert_cause(
            &validate_create("Service", &s),
            "spec.ports[0].targetPort",
            "Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        );
        let mut s = service();
        set(&mut s, "/spec/ports/0/nodePort", json!(30080));
        assert_only(
            &validate_create("Service", &s),
            "spec.ports[0].nodePort",
            "Forbidden: may not be used when `type` is 'ClusterIP'",
        );
        let mut s = service();
        set(&mut s, "/spec/sessionAffinity", json!("Cookie"));
        assert_only(
            &validate_create("Service", &s),
            "spec.sessionAffinity",
            "Unsupported value: \"Cookie\": supported values: \"ClientIP\", \"None\"",
        );
        let external = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName"}});
        assert_only(
            &validate_create("Service", &external),
            "spec.externalName",
            "Required value",
        );
        let external = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "Not_DNS"}});
        assert_only(
            &validate_create("Service", &external),
            "spec.externalName",
            &format!("Invalid value: \"Not_DNS\": {DNS_SUBDOMAIN_ERR}"),
        );
        let mut s = service();
        set(&mut s, "/spec/type", json!("NodePort"));
        set(&mut s, "/spec/clusterIP", json!("None"));
        set(&mut s, "/spec/clusterIPs", json!(["None"]));
        assert_only(
            &validate_create("Service", &s),
            "spec.clusterIPs[0]",
            "Invalid value: \"None\": may not be set to 'None' for NodePort services",
        );
        let mut s = service();
        set(&mut s, "/spec/clusterIP", json!("10.0.0.300"));
        set(&mut s, "/spec/clusterIPs", json!(["10.0.0.300"]));
        assert_only(
            &validate_create("Service", &s),
            "spec.clusterIPs[0]",
            "Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        );
        let mut s = service();
        set(
            &mut s,
            "/spec/loadBalancerSourceRanges",
            json!(["10.0.0.0/8"]),
        );
        assert_only(
            &validate_create("Service", &s),
            "spec.LoadBalancerSourceRanges",
            "Forbidden: may only be used when `type` is 'LoadBalancer'",
        );
    }

    #[test]
    fn service_updates() {
        let old = service();
        let mut new = service();
        set(&mut new, "/spec/clusterIP", json!("10.96.0.11"));
        set(&mut new, "/spec/clusterIPs", json!(["10.96.0.11"]));
        assert_only(
            &validate_update("Service", &old, &new),
            "spec.clusterIPs[0]",
            "Invalid value: []string{\"10.96.0.11\"}: may not change once set",
        );
        // kubectl apply leaves the allocated IP out; it is kept.
        let mut new = service();
        remove(&mut new, "/spec/clusterIP");
        remove(&mut new, "/spec/clusterIPs");
        assert_eq!(validate_update("Service", &old, &new), vec![]);
        let mut new = service();
        set(&mut new, "/spec/type", json!("NodePort"));
        set(&mut new, "/spec/externalTrafficPolicy", json!("Cluster"));
        assert_eq!(validate_update("Service", &old, &new), vec![]);
        // Switching back keeps the allocated node port, which is then dropped.
        let mut node_port = new.clone();
        set(&mut node_port, "/spec/ports/0/nodePort", json!(30080));
        let mut back = node_port.clone();
        set(&mut back, "/spec/type", json!("ClusterIP"));
        assert_eq!(validate_update("Service", &node_port, &back), vec![]);
        let mut external = service();
        set(&mut external, "/spec/type", json!("ExternalName"));
        set(&mut external, "/spec/externalName", json!("example.com"));
        assert_eq!(validate_update("Service", &old, &external), vec![]);
        assert_cause(
            &validate_create("Service", &external),
            "spec.clusterIPs",
            "Forbidden: may not be set for ExternalName services",
        );
    }
}
