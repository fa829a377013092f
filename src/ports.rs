//! Port assignment: each component's ports are its defaults when free, otherwise free ones. The
//! choice is recorded in the data dir and reused on the next start, so kubeconfigs and scripts
//! keep working, and two clusters with different data dirs run side by side.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::component::Component;
use crate::config::{ClusterConfig, port_names, yaml_key};

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error(
        "port {port} set for components.{key}.ports.{name} in the config is taken by another program: free it or choose another port"
    )]
    Taken {
        key: &'static str,
        name: String,
        port: u16,
    },
    #[error("cannot find a free port on 127.0.0.1: {0}")]
    NoFreePort(std::io::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Ports by component name and port name, as stored in `ports.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports(BTreeMap<String, BTreeMap<String, u16>>);

impl Ports {
    /// The port of `name` for `c`. Panics on a name not in [`port_names`]: that is a bug in kwb.
    pub fn get(&self, c: Component, name: &str) -> u16 {
        self.get_key(c.name(), name)
    }

    /// The port of `name` for the unit with this key (`ClusterConfig::unit_key`).
    pub fn get_key(&self, key: &str, name: &str) -> u16 {
        self.0
            .get(key)
            .and_then(|m| m.get(name))
            .copied()
            .unwrap_or_else(|| panic!("no port {name:?} resolved for {key}: not in port_names"))
    }

    /// Reads ports recorded by an earlier run; a missing or unreadable file is no record.
    pub fn load_recorded(path: &Path) -> Ports {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_saphyr::from_str(&t).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, path: &Path) -> Result<(), PortError> {
        let text = format!(
            "# Ports picked by kwb for this cluster; reused on the next start.\n{}",
            serde_saphyr::to_string(&self.0).unwrap_or_default()
        );
        std::fs::write(path, text).map_err(|source| PortError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// Picks every port: configured (must be free), else recorded, else default, each when free;
    /// otherwise a free one. `is_free` is injected so the rule can be tested.
    pub fn resolve(
        config: &ClusterConfig,
        recorded: &Ports,
        is_free: &mut dyn FnMut(u16) -> bool,
        pick_free: &mut dyn FnMut() -> Result<u16, PortError>,
    ) -> Result<Ports, PortError> {
        let mut out = Ports::default();
        let mut taken_by_us: Vec<u16> = Vec::new();
        for unit in config.units() {
            let c = unit.component;
            let key = config.unit_key(unit);
            // Configured ports are the first node's; further kubelets take free ones.
            let configured = if unit.node == 0 {
                config.components.get(c).ports.clone()
            } else {
                BTreeMap::new()
            };
            for (name, default) in port_names(c) {
                let port = if let Some(&p) = configured.get(*name) {
                    if taken_by_us.contains(&p) || !is_free(p) {
                        return Err(PortError::Taken {
                            key: yaml_key(c),
                            name: name.to_string(),
                            port: p,
                        });
                    }
                    p
                } else {
                    let recorded = recorded.0.get(&key).and_then(|m| m.get(*name)).copied();
                    let candidate = [recorded, Some(*default)]
                        .into_iter()
                        .flatten()
                        .find(|p| !taken_by_us.contains(p) && is_free(*p));
                    match candidate {
                        Some(p) => p,
                        // The kernel may hand back a port we already gave out (we do not hold
                        // the listeners), so ask a bounded number of times.
                        None => (0..100)
                            .map(|_| pick_free())
                            .find(|p| !matches!(p, Ok(p) if taken_by_us.contains(p)))
                            .unwrap_or_else(|| {
                                Err(PortError::NoFreePort(std::io::Error::other(
                                    "the kernel kept offering ports already assigned",
                                )))
                            })?,
                    }
                };
                taken_by_us.push(port);
                out.0
                    .entry(key.clone())
                    .or_default()
                    .insert(name.to_string(), port);
            }
        }
        Ok(out)
    }

    /// [`Ports::resolve`] against the real loopback interface.
    pub fn resolve_on_loopback(
        config: &ClusterConfig,
        recorded: &Ports,
    ) -> Result<Ports, PortError> {
        Self::resolve(config, recorded, &mut port_is_free, &mut free_port)
    }
}

/// Whether a TCP port can be bound on 127.0.0.1 now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// A port the kernel says is free on 127.0.0.1 now.
pub fn free_port() -> Result<u16, PortError> {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(PortError::NoFreePort)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_free_else_recorded_else_fresh() {
        let config = ClusterConfig::default();
        let mut next = 40000;
        let mut pick = || {
            next += 1;
            Ok(next)
        };
        // Everything free: the upstream defaults.
        let p = Ports::resolve(&config, &Ports::default(), &mut |_| true, &mut pick).unwrap();
        assert_eq!(p.get(Component::Etcd, "client"), 2379);
        assert_eq!(p.get(Component::Apiserver, "secure"), 6443);
        // 2379 taken by someone else: a fresh one, and the next run reuses it.
        let p2 = Ports::resolve(&config, &Ports::default(), &mut |p| p != 2379, &mut pick).unwrap();
        let fresh = p2.get(Component::Etcd, "client");
        assert_ne!(fresh, 2379);
        let p3 = Ports::resolve(&config, &p2, &mut |p| p != 2379, &mut pick).unwrap();
        assert_eq!(p3.get(Component::Etcd, "client"), fresh);
    }

    #[test]
    fn a_configured_port_that_is_taken_is_an_error_naming_it() {
        let mut config = ClusterConfig::default();
        config.components.etcd.ports.insert("client".into(), 2379);
        let err = Ports::resolve(&config, &Ports::default(), &mut |p| p != 2379, &mut || {
            Ok(1)
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("components.etcd.ports.client"), "{err}");
    }

    #[test]
    fn ports_are_never_given_twice() {
        let config = ClusterConfig::default();
        // A picker that keeps offering the same three ports runs out, with an error, not a hang.
        let mut n = 0;
        let p = Ports::resolve(&config, &Ports::default(), &mut |_| false, &mut || {
            n += 1;
            Ok(50000 + n % 3)
        });
        assert!(p.is_err());
        let mut m = 60000;
        let p = Ports::resolve(&config, &Ports::default(), &mut |_| false, &mut || {
            m += 1;
            Ok(m)
        })
        .unwrap();
        let mut all: Vec<u16> = p.0.values().flat_map(|m| m.values().copied()).collect();
        let len = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), len);
    }

    #[test]
    fn every_node_s_kubelet_has_its_own_ports() {
        let config = ClusterConfig {
            nodes: 3,
            ..ClusterConfig::default()
        };
        let mut next = 40000;
        let p = Ports::resolve(&config, &Ports::default(), &mut |_| true, &mut || {
            next += 1;
            Ok(next)
        })
        .unwrap();
        assert_eq!(p.get(Component::Kubelet, "server"), 10250);
        let worker = p.get_key("kubelet-kwb-worker", "server");
        let worker2 = p.get_key("kubelet-kwb-worker2", "server");
        assert!(worker != 10250 && worker2 != 10250 && worker != worker2);
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ports.yaml");
        let p = Ports::resolve(
            &ClusterConfig::default(),
            &Ports::default(),
            &mut |_| true,
            &mut || Ok(1),
        )
        .unwrap();
        p.save(&path).unwrap();
        assert_eq!(Ports::load_recorded(&path), p);
    }
}
