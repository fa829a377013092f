//! Service ClusterIPs from `--service-cluster-ip-range` and NodePorts from 30000-32767. Each
//! address or port a Service holds is a claim key in etcd, written in the same transaction as
//! the Service and deleted with it, so two Services never get the same one, even when created
//! at the same moment, and a crash in between leaves nothing half-done.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ring::rand::SecureRandom;
use serde_json::{Value, json};

use super::Server;
use super::status::ApiError;
use super::storage::{Claims, with_revision};
use crate::config::Cidr;
use crate::kinds::Kind;

const IP_CLAIMS: &str = "/registry/kwb/serviceips/";
const PORT_CLAIMS: &str = "/registry/kwb/servicenodeports/";
pub const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;

/// How often a create or update is retried when a freshly picked IP or port was taken by a
/// concurrent request in between.
const ATTEMPTS: usize = 8;

fn random_below(n: u32) -> u32 {
    let mut b = [0u8; 4];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    u32::from_le_bytes(b) % n.max(1)
}

fn with_node_ports(svc: &Value) -> bool {
    matches!(
        svc["spec"]["type"].as_str(),
        Some("NodePort" | "LoadBalancer")
    )
}

/// The claim keys a Service holds: its ClusterIPs and NodePorts.
fn claims(svc: &Value) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    if let Some(ips) = svc["spec"]["clusterIPs"].as_array() {
        for ip in ips.iter().filter_map(Value::as_str) {
            if ip.parse::<Ipv4Addr>().is_ok() {
                out.insert(format!("{IP_CLAIMS}{ip}").into_bytes());
            }
        }
    }
    if with_node_ports(svc)
        && let Some(ports) = svc["spec"]["ports"].as_array()
    {
        for p in ports.iter().filter_map(|p| p["nodePort"].as_u64()) {
            out.insert(format!("{PORT_CLAIMS}{p}").into_bytes());
        }
    }
    out
}

fn owner(ns: &str, name: &str) -> Vec<u8> {
    json!({"service": format!("{ns}/{name}")})
        .to_string()
        .into_bytes()
}

async fn taken(server: &Server, prefix: &str) -> Result<BTreeSet<String>, ApiError> {
    Ok(server
        .storage
        .keys(prefix.as_bytes())
        .await?
        .into_iter()
        .filter_map(|k| {
            String::from_utf8(k)
                .ok()
                .map(|k| k[prefix.len()..].to_string())
        })
        .collect())
}

fn invalid(kind: &Kind, name: &str, field: String, msg: String) -> ApiError {
    ApiError::invalid(kind, name, vec![(field, msg)])
}

/// Fills in what the Service lacks: a ClusterIP (unless headless or ExternalName) and
/// NodePorts (for NodePort and LoadBalancer types); checks what the user chose is in range.
/// `keep` are claims the Service already holds (on update), which count as free for it.
async fn assign(
    server: &Server,
    kind: &Kind,
    name: &str,
    svc: &mut Value,
    keep: &BTreeSet<Vec<u8>>,
) -> Result<(), ApiError> {
    let spec = &mut svc["spec"];
    let ty = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    if ty == "ExternalName" {
        if let Some(s) = spec.as_object_mut() {
            s.remove("clusterIP");
            s.remove("clusterIPs");
        }
    } else {
        let ip = spec["clusterIP"].as_str().unwrap_or("").to_string();
        let chosen = if ip.is_empty() {
            let range = server.service_range.ok_or_else(|| {
                ApiError::internal(
                    "this apiserver has no --service-cluster-ip-range to allocate from",
                )
            })?;
            let used = taken(server, IP_CLAIMS).await?;
            let size = 1u32 << (32 - u32::from(range.prefix));
            // Leave out the network address and the broadcast address; the first address is
            // the `kubernetes` Service's, claimed at bootstrap.
            let free: Vec<Ipv4Addr> = (1..size.saturating_sub(1))
                .filter_map(|n| range.nth(n))
                .filter(|a| !used.contains(&a.to_string()))
                .take(4096)
                .collect();
            if free.is_empty() {
                return Err(invalid(
                    kind,
                    name,
                    "spec.clusterIPs".into(),
                    format!(
                        "Internal error: failed to allocate a serviceIP: range is full ({}/{})",
                        range.addr, range.prefix
                    ),
                ));
            }
            free[random_below(free.len() as u32) as usize].to_string()
        } else if ip == "None" {
            ip
        } else {
            let parsed: Ipv4Addr = ip.parse().map_err(|_| {
                invalid(
                    kind,
                    name,
                    "spec.clusterIPs[0]".into(),
                    format!("Invalid value: {ip:?}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
                )
            })?;
            if let Some(range) = server.service_range
                && !in_range(&range, parsed)
            {
                return Err(invalid(
                    kind,
                    name,
                    "spec.clusterIPs".into(),
                    format!(
                        "Invalid value: []string{{{ip:?}}}: failed to allocate IP {ip}: provided IP is not in the valid range. The range of valid IPs is {}/{}",
                        range.addr, range.prefix
                    ),
                ));
            }
            ip
        };
        spec["clusterIP"] = chosen.clone().into();
        spec["clusterIPs"] = json!([chosen]);
        if spec["ipFamilies"].is_null() {
            spec["ipFamilies"] = json!(["IPv4"]);
        }
        if spec["ipFamilyPolicy"].is_null() {
            spec["ipFamilyPolicy"] = "SingleStack".into();
        }
    }
    let needs_ports = matches!(ty.as_str(), "NodePort" | "LoadBalancer");
    let mut used: Option<BTreeSet<String>> = None;
    let Some(ports) = spec["ports"].as_array_mut() else {
        return Ok(());
    };
    for (i, port) in ports.iter_mut().enumerate() {
        if !needs_ports {
            // A ClusterIP Service has no node ports (upstream drops them on a type change).
            if let Some(p) = port.as_object_mut() {
                p.remove("nodePort");
            }
            continue;
        }
        match port["nodePort"].as_u64() {
            Some(n) if n > 0 => {
                if !NODE_PORTS.contains(&(n as u16)) || n > 65535 {
                    return Err(invalid(
                        kind,
                        name,
                        format!("spec.ports[{i}].nodePort"),
                        format!(
                            "Invalid value: {n}: provided port is not in the valid range. The range of valid ports is 30000-32767"
                        ),
                    ));
                }
            }
            _ => {
                if used.is_none() {
                    used = Some(taken(server, PORT_CLAIMS).await?);
                }
                let used = used.as_mut().expect("just filled");
                let free: Vec<u16> = NODE_PORTS
                    .filter(|p| {
                        !used.contains(&p.to_string())
                            || keep.contains(format!("{PORT_CLAIMS}{p}").as_bytes())
                    })
                    .collect();
                if free.is_empty() {
                    return Err(invalid(
                        kind,
                        name,
                        format!("spec.ports[{i}].nodePort"),
                        "Internal error: failed to allocate a nodePort: range is full".into(),
                    ));
                }
                let p = free[random_below(free.len() as u32) as usize];
                used.insert(p.to_string());
                port["nodePort"] = p.into();
            }
        }
    }
    Ok(())
}

fn in_range(range: &Cidr, ip: Ipv4Addr) -> bool {
    let mask = if range.prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(range.prefix))
    };
    u32::from(ip) & mask == u32::from(range.addr) & mask
}

/// Whether the user named a ClusterIP or a NodePort of their own.
fn user_chose(requested: &Value) -> bool {
    let ip = requested["spec"]["clusterIP"].as_str().unwrap_or("");
    (!ip.is_empty() && ip != "None")
        || requested["spec"]["ports"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["nodePort"].as_u64().is_some_and(|n| n > 0))
        })
}

/// Which of the user's own choices a failed transaction may have collided with.
fn already_allocated(kind: &Kind, name: &str, requested: &Value) -> ApiError {
    let ip = requested["spec"]["clusterIP"].as_str().unwrap_or("");
    if !ip.is_empty() && ip != "None" {
        return invalid(
            kind,
            name,
            "spec.clusterIPs".into(),
            format!(
                "Invalid value: []string{{{ip:?}}}: failed to allocate IP {ip}: provided IP is already allocated"
            ),
        );
    }
    let port = requested["spec"]["ports"].as_array().and_then(|ps| {
        ps.iter()
            .enumerate()
            .find(|(_, p)| p["nodePort"].as_u64().is_some())
    });
    match port {
        Some((i, p)) => invalid(
            kind,
            name,
            format!("spec.ports[{i}].nodePort"),
            format!(
                "Invalid value: {}: provided port is already allocated",
                p["nodePort"]
            ),
        ),
        None => ApiError::internal("could not allocate a service IP or node port; try again"),
    }
}

/// Creates a Service with its IP and ports allocated.
pub async fn create(
    server: &Server,
    kind: &Kind,
    ns: &str,
    name: &str,
    requested: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    for _ in 0..ATTEMPTS {
        let mut svc = requested.clone();
        assign(server, kind, name, &mut svc, &BTreeSet::new()).await?;
        if dry_run {
            return Ok(svc);
        }
        let claim: Vec<(Vec<u8>, Vec<u8>)> = claims(&svc)
            .into_iter()
            .map(|k| (k, owner(ns, name)))
            .collect();
        if let Some(rev) = server
            .storage
            .write_with_claims(
                kind,
                Some(ns),
                name,
                None,
                Some(&svc),
                &Claims {
                    claim,
                    release: vec![],
                },
            )
            .await?
        {
            return Ok(with_revision(svc, rev));
        }
        if server.storage.get(kind, Some(ns), name).await?.is_some() {
            return Err(ApiError::already_exists(kind, name));
        }
        if user_chose(&requested) {
            // The user named an IP or port, and it is someone else's.
            return Err(already_allocated(kind, name, &requested));
        }
    }
    Err(already_allocated(kind, name, &requested))
}

/// An update that leaves out the ClusterIP or a NodePort keeps the one it had (as upstream
/// does for `kubectl replace` and apply of a manifest without them).
fn keep_allocations(current: &Value, svc: &mut Value) {
    let (old, new) = (&current["spec"], &mut svc["spec"]);
    if new["clusterIP"].as_str().is_none_or(str::is_empty)
        && new["type"].as_str() != Some("ExternalName")
        && !old["clusterIP"].is_null()
    {
        new["clusterIP"] = old["clusterIP"].clone();
        new["clusterIPs"] = old["clusterIPs"].clone();
    }
    let Some(old_ports) = old["ports"].as_array() else {
        return;
    };
    if let Some(ports) = new["ports"].as_array_mut() {
        for p in ports.iter_mut().filter(|p| p["nodePort"].is_null()) {
            let same = old_ports.iter().find(|o| {
                o["port"] == p["port"]
                    && o["protocol"].as_str().unwrap_or("TCP")
                        == p["protocol"].as_str().unwrap_or("TCP")
            });
            if let Some(n) = same.map(|o| &o["nodePort"]).filter(|n| !n.is_null()) {
                p["nodePort"] = n.clone();
            }
        }
    }
}

/// Replaces a Service at `expected`, allocating what a type change needs and releasing what
/// it no longer holds.
pub async fn update(
    server: &Server,
    kind: &Kind,
    ns: &str,
    name: &str,
    expected: i64,
    current: &Value,
    mut svc: Value,
) -> Result<Value, ApiError> {
    let held = claims(current);
    keep_allocations(current, &mut svc);
    assign(server, kind, name, &mut svc, &held).await?;
    let wanted = claims(&svc);
    let claim: Vec<(Vec<u8>, Vec<u8>)> = wanted
        .difference(&held)
        .cloned()
        .map(|k| (k, owner(ns, name)))
        .collect();
    let release: Vec<Vec<u8>> = held.difference(&wanted).cloned().collect();
    match server
        .storage
        .write_with_claims(
            kind,
            Some(ns),
            name,
            Some(expected),
            Some(&svc),
            &Claims { claim, release },
        )
        .await?
    {
        Some(rev) => Ok(with_revision(svc, rev)),
        None => match server.storage.get(kind, Some(ns), name).await? {
            Some(now) if super::rest::rv_of(&now) == expected => {
                Err(already_allocated(kind, name, &svc))
            }
            _ => Err(ApiError::conflict(kind, name)),
        },
    }
}

/// Deletes a Service at `expected` and frees what it held.
pub async fn delete(
    server: &Server,
    kind: &Kind,
    ns: &str,
    name: &str,
    expected: i64,
    current: &Value,
) -> Result<(), ApiError> {
    let release: Vec<Vec<u8>> = claims(current).into_iter().collect();
    match server
        .storage
        .write_with_claims(
            kind,
            Some(ns),
            name,
            Some(expected),
            None,
            &Claims {
                claim: vec![],
                release,
            },
        )
        .await?
    {
        Some(_) => Ok(()),
        None => Err(ApiError::conflict(kind, name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_claims_its_ips_and_node_ports() {
        let svc = json!({"spec": {"type": "NodePort", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80, "nodePort": 30080}]}});
        let keys: Vec<String> = claims(&svc)
            .into_iter()
            .map(|k| String::from_utf8(k).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "/registry/kwb/serviceips/10.96.0.10",
                "/registry/kwb/servicenodeports/30080"
            ]
        );
        let headless =
            json!({"spec": {"clusterIPs": ["None"], "ports": [{"port": 80, "nodePort": 30080}]}});
        assert!(claims(&headless).is_empty());
    }

    #[test]
    fn ranges_contain_their_addresses() {
        let r: Cidr = "10.96.0.0/12".parse().unwrap();
        assert!(in_range(&r, "10.96.0.1".parse().unwrap()));
        assert!(in_range(&r, "10.111.255.254".parse().unwrap()));
        assert!(!in_range(&r, "10.112.0.1".parse().unwrap()));
    }
}
