//! The cluster config, `kwb.yaml`: what to run and where.
//!
//! Every field is optional; `kwb config default` prints the commented default. Parsing is strict
//! (unknown keys are errors with line and column) because a misspelt key silently ignored is a
//! workshop lost to debugging.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::component::{Component, Unit};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {path}: {field}: {message}")]
    Invalid {
        path: PathBuf,
        field: String,
        message: String,
    },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// kwb's own implementation, run as `kwb component <name>`.
    #[default]
    Builtin,
    /// The upstream program (`etcd`, `kube-apiserver`, …) from PATH or `path`.
    Binary,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Builtin => "builtin",
            Backend::Binary => "binary",
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentConfig {
    #[serde(default)]
    pub backend: Backend,
    /// Program for the binary backend; default: the upstream name looked up on PATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Appended after the flags kwb generates, so they can override them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Port overrides by port name (see [`port_names`]). A port given here must be free.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ports: BTreeMap<String, u16>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Components {
    #[serde(default)]
    pub etcd: ComponentConfig,
    #[serde(default)]
    pub apiserver: ComponentConfig,
    #[serde(default)]
    pub controller_manager: ComponentConfig,
    #[serde(default)]
    pub scheduler: ComponentConfig,
    #[serde(default)]
    pub kubelet: ComponentConfig,
    #[serde(default)]
    pub proxy: ComponentConfig,
}

impl Components {
    pub fn get(&self, c: Component) -> &ComponentConfig {
        match c {
            Component::Etcd => &self.etcd,
            Component::Apiserver => &self.apiserver,
            Component::ControllerManager => &self.controller_manager,
            Component::Scheduler => &self.scheduler,
            Component::Kubelet => &self.kubelet,
            Component::Proxy => &self.proxy,
        }
    }

    pub fn get_mut(&mut self, c: Component) -> &mut ComponentConfig {
        match c {
            Component::Etcd => &mut self.etcd,
            Component::Apiserver => &mut self.apiserver,
            Component::ControllerManager => &mut self.controller_manager,
            Component::Scheduler => &mut self.scheduler,
            Component::Kubelet => &mut self.kubelet,
            Component::Proxy => &mut self.proxy,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterConfig {
    /// Cluster name: in kubeconfigs, and the default data dir's last part.
    #[serde(default = "default_name")]
    pub name: String,
    /// Where PKI, kubeconfigs, logs and component data live. Default: ~/.local/share/kwb/<name>.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Default: 127.96.0.0/12 with a builtin apiserver (ClusterIPs are loopback addresses, no root
    /// needed), 10.96.0.0/12 with the upstream one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_cidr: Option<Cidr>,
    /// Default: 127.244.0.0/16 with a builtin kubelet, 10.244.0.0/16 with the upstream one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_cidr: Option<Cidr>,
    /// Number of nodes (kubelets).
    #[serde(default = "default_nodes")]
    pub nodes: u32,
    /// The first node registers with the taint node-role.kubernetes.io/control-plane:NoSchedule,
    /// as kubeadm sets it: pods without a toleration stay Pending there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub control_plane_taint: bool,
    #[serde(default)]
    pub components: Components,
    /// Failure rules of the builtin kubelet's simulated runtime (see kubelet::rules); absent:
    /// kwb's defaults (`*:doesnotexist` fails to pull, `*:crash`, `*:slow`, `*:unready`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulate: Option<Vec<crate::kubelet::rules::Rule>>,
    /// Nodes (by name) whose builtin kubelet runs containers that give a `command` as host
    /// processes. Empty by default: the process runtime executes what pod specs say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub process_runtime: Vec<String>,
}

fn default_name() -> String {
    "kwb".to_string()
}
/// Each node takes a /24 of the pod range and a kubelet process; past this a laptop suffers.
pub const MAX_NODES: u32 = 100;

fn default_nodes() -> u32 {
    1
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            name: default_name(),
            data_dir: None,
            service_cidr: None,
            pod_cidr: None,
            nodes: default_nodes(),
            control_plane_taint: false,
            components: Components::default(),
            simulate: None,
            process_runtime: Vec::new(),
        }
    }
}

/// An IPv4 CIDR such as `127.96.0.0/12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    /// The n-th address of the range (0 is the network address itself).
    pub fn nth(&self, n: u32) -> Option<Ipv4Addr> {
        let size = 1u64 << (32 - u32::from(self.prefix));
        (u64::from(n) < size).then(|| Ipv4Addr::from(u32::from(self.addr) + n))
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.split_once('/').ok_or_else(|| {
            format!("{s:?} is not a CIDR: expected ADDRESS/PREFIX, e.g. 10.96.0.0/12")
        })?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not a CIDR: {addr:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (8..=30).contains(p))
            .ok_or_else(|| format!("{s:?} is not a usable CIDR: the prefix must be 8 to 30"))?;
        let mask = u32::MAX << (32 - u32::from(prefix));
        if u32::from(addr) & !mask != 0 {
            return Err(format!(
                "{s:?} has host bits set: did you mean {}/{prefix}?",
                Ipv4Addr::from(u32::from(addr) & mask)
            ));
        }
        Ok(Cidr { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Default ports by component and port name. Used when free; otherwise a free port is picked and
/// recorded in the data dir (see `ports.rs`).
pub fn port_names(c: Component) -> &'static [(&'static str, u16)] {
    match c {
        Component::Etcd => &[("client", 2379), ("peer", 2380)],
        Component::Apiserver => &[("secure", 6443)],
        Component::ControllerManager => &[("secure", 10257)],
        Component::Scheduler => &[("secure", 10259)],
        Component::Kubelet => &[("server", 10250), ("healthz", 10248)],
        Component::Proxy => &[("healthz", 10256), ("metrics", 10249)],
    }
}

impl ClusterConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<ClusterConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<ClusterConfig, ConfigError> {
        // An empty file (or one holding only comments) is the default config.
        let config: ClusterConfig = if text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#') || l == "---"
        }) {
            ClusterConfig::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?
        };
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field: String, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            field,
            message,
        };
        if !crate::kinds::is_dns_label(&self.name) {
            return Err(invalid(
                "name".into(),
                format!(
                    "{:?} must be a DNS label: lowercase letters, digits and '-', at most 63",
                    self.name
                ),
            ));
        }
        self.check_nodes()
            .map_err(|message| invalid("nodes".into(), message))?;
        if let Some(rules) = &self.simulate {
            crate::kubelet::rules::Rules::new(rules.clone())
                .map_err(|e| invalid("simulate".into(), e))?;
        }
        for (i, node) in self.process_runtime.iter().enumerate() {
            if self.kubelet_of(node).is_none() {
                return Err(invalid(
                    format!("processRuntime[{i}]"),
                    format!(
                        "{node:?} is not a node of this cluster: nodes are named {}, {}, {}2, …",
                        self.node_name(0),
                        self.node_name(1),
                        self.node_name(1)
                    ),
                ));
            }
        }
        for c in Component::ALL {
            let cc = self.components.get(c);
            let known = port_names(c);
            for (name, port) in &cc.ports {
                if !known.iter().any(|(n, _)| n == name) {
                    let names: Vec<_> = known.iter().map(|(n, _)| *n).collect();
                    return Err(invalid(
                        format!("components.{}.ports.{name}", yaml_key(c)),
                        format!("unknown port name; {} has: {}", c, names.join(", ")),
                    ));
                }
                if *port == 0 {
                    return Err(invalid(
                        format!("components.{}.ports.{name}", yaml_key(c)),
                        "port 0 is not a port; leave it out to let kwb pick one".into(),
                    ));
                }
            }
            if cc.backend == Backend::Builtin && cc.path.is_some() {
                return Err(invalid(
                    format!("components.{}.path", yaml_key(c)),
                    "a path only applies to the binary backend; add `backend: binary`".into(),
                ));
            }
        }
        Ok(())
    }

    pub fn service_cidr(&self) -> Cidr {
        self.service_cidr.unwrap_or_else(|| {
            match self.components.apiserver.backend {
                Backend::Builtin => "127.96.0.0/12",
                Backend::Binary => "10.96.0.0/12",
            }
            .parse()
            .expect("built-in default CIDR is valid")
        })
    }

    pub fn pod_cidr(&self) -> Cidr {
        self.pod_cidr.unwrap_or_else(|| {
            match self.components.kubelet.backend {
                Backend::Builtin => "127.244.0.0/16",
                Backend::Binary => "10.244.0.0/16",
            }
            .parse()
            .expect("built-in default CIDR is valid")
        })
    }

    /// Whether `nodes` fits: at least one, at most [`MAX_NODES`], and a /24 of the pod range each.
    /// Called on load, and again after `--nodes` overrides the file.
    pub fn check_nodes(&self) -> Result<(), String> {
        if !(1..=MAX_NODES).contains(&self.nodes) {
            return Err(format!(
                "{} nodes asked for: kwb runs 1 to {MAX_NODES} nodes",
                self.nodes
            ));
        }
        let pods = self.pod_cidr();
        if self.node_pod_cidr(self.nodes - 1).is_none() {
            return Err(format!(
                "{} nodes need a /24 each of podCidr {pods}: set podCidr to a larger range, e.g. 127.244.0.0/16",
                self.nodes
            ));
        }
        Ok(())
    }

    /// Node `i`'s share of the pod range: its i-th /24 (all of it when smaller than a /24,
    /// which only a one-node cluster may use).
    pub fn node_pod_cidr(&self, i: u32) -> Option<Cidr> {
        let pods = self.pod_cidr();
        if pods.prefix >= 24 {
            return (i == 0).then_some(pods);
        }
        let count = 1u32 << (24 - pods.prefix);
        (i < count).then(|| Cidr {
            addr: Ipv4Addr::from(u32::from(pods.addr) + (i << 8)),
            prefix: 24,
        })
    }

    /// The name a unit goes by in file names and `ports.yaml`: the component's, and for the
    /// kubelets of nodes after the first `kubelet-<node>`.
    pub fn unit_key(&self, u: Unit) -> String {
        match (u.component, u.node) {
            (c, 0) => c.name().to_string(),
            (c, n) => format!("{}-{}", c.name(), self.node_name(n)),
        }
    }

    /// Every process of the cluster, in start order (one kubelet per node).
    pub fn units(&self) -> Vec<Unit> {
        Unit::all(u16::try_from(self.nodes).unwrap_or(u16::MAX))
    }

    /// The kubelet of the node named `name`, whether or not this config runs that many nodes
    /// (`kwb up --nodes N` may have asked for more than the file says).
    pub fn kubelet_of(&self, name: &str) -> Option<Unit> {
        (0..u16::try_from(MAX_NODES).unwrap_or(u16::MAX))
            .find(|i| self.node_name(*i) == name)
            .map(|node| Unit {
                component: Component::Kubelet,
                node,
            })
    }

    /// The name of node `i` (see [`ClusterConfig::node_names`]).
    pub fn node_name(&self, i: u16) -> String {
        match i {
            0 => format!("{}-control-plane", self.name),
            1 => format!("{}-worker", self.name),
            n => format!("{}-worker{n}", self.name),
        }
    }

    /// Whether node `i`'s kubelet runs the process runtime.
    pub fn runs_processes(&self, i: u16) -> bool {
        let name = self.node_name(i);
        self.process_runtime.contains(&name)
    }

    /// The apiserver's ClusterIP in the `kubernetes` Service: the first address of the range.
    pub fn kubernetes_service_ip(&self) -> Ipv4Addr {
        self.service_cidr()
            .nth(1)
            .expect("a /30 or larger range has a first address")
    }

    /// Node names, kind-style: `<name>-control-plane`, then `<name>-worker`, `<name>-worker2`, ….
    pub fn node_names(&self) -> Vec<String> {
        (0..self.nodes)
            .map(|i| self.node_name(u16::try_from(i).unwrap_or(u16::MAX)))
            .collect()
    }

    /// The data dir: as configured, else `$XDG_DATA_HOME/kwb/<name>` or `~/.local/share/kwb/<name>`.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(d) = &self.data_dir {
            return expand_home(d);
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("kwb").join(&self.name)
    }
}

/// The key a component has under `components:` in kwb.yaml.
pub fn yaml_key(c: Component) -> &'static str {
    match c {
        Component::ControllerManager => "controllerManager",
        other => other.name(),
    }
}

fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => p.to_owned(),
    }
}

/// The commented default config printed by `kwb config default`. A test parses it, so it stays valid.
pub const DEFAULT_CONFIG_YAML: &str = include_str!("default-config.yaml");

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClusterConfig, ConfigError> {
        ClusterConfig::parse(text, Path::new("kwb.yaml"))
    }

    #[test]
    fn empty_and_default_text_are_the_default_config() {
        assert_eq!(parse("").unwrap(), ClusterConfig::default());
        assert_eq!(parse("# nothing\n").unwrap(), ClusterConfig::default());
        assert_eq!(
            parse(DEFAULT_CONFIG_YAML).unwrap(),
            ClusterConfig::default()
        );
    }

    #[test]
    fn backends_paths_args_and_ports_parse() {
        let c = parse(
            "name: demo\ndataDir: /tmp/x\ncomponents:\n  etcd:\n    backend: binary\n    path: /usr/bin/etcd\n    args: [--log-level=debug]\n    ports: {client: 12379}\n  controllerManager:\n    backend: builtin\n",
        )
        .unwrap();
        assert_eq!(c.name, "demo");
        assert_eq!(c.data_dir(), PathBuf::from("/tmp/x"));
        let etcd = c.components.get(Component::Etcd);
        assert_eq!(etcd.backend, Backend::Binary);
        assert_eq!(etcd.path.as_deref(), Some(Path::new("/usr/bin/etcd")));
        assert_eq!(etcd.args, vec!["--log-level=debug"]);
        assert_eq!(etcd.ports["client"], 12379);
    }

    #[test]
    fn cidr_defaults_follow_the_backends() {
        let mut c = ClusterConfig::default();
        assert_eq!(c.service_cidr().to_string(), "127.96.0.0/12");
        assert_eq!(c.kubernetes_service_ip(), Ipv4Addr::new(127, 96, 0, 1));
        assert_eq!(c.pod_cidr().to_string(), "127.244.0.0/16");
        c.components.apiserver.backend = Backend::Binary;
        c.components.kubelet.backend = Backend::Binary;
        assert_eq!(c.service_cidr().to_string(), "10.96.0.0/12");
        assert_eq!(c.kubernetes_service_ip(), Ipv4Addr::new(10, 96, 0, 1));
        assert_eq!(c.pod_cidr().to_string(), "10.244.0.0/16");
    }

    #[test]
    fn unknown_keys_are_errors_with_a_location() {
        let err = parse("name: demo\ncomponents:\n  etcd:\n    backnd: binary\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("backnd"), "{err}");
        assert!(err.contains("kwb.yaml"), "{err}");
        assert!(err.contains('4'), "the line should be named: {err}");
    }

    #[test]
    fn each_node_gets_a_24_of_the_pod_range() {
        let c = parse("nodes: 3\npodCidr: 10.1.0.0/23\n");
        assert!(c.is_err(), "two /24s cannot hold three nodes");
        let c = parse("nodes: 3\n").unwrap();
        assert_eq!(c.node_pod_cidr(2).unwrap().to_string(), "127.244.2.0/24");
        assert_eq!(c.unit_key(Unit::of(Component::Kubelet)), "kubelet");
        let worker = Unit {
            component: Component::Kubelet,
            node: 2,
        };
        assert_eq!(c.unit_key(worker), "kubelet-kwb-worker2");
        assert_eq!(c.node_names()[2], "kwb-worker2");
        assert_eq!(c.kubelet_of("kwb-worker2"), Some(worker));
        assert_eq!(c.kubelet_of("kwb-worker9").map(|u| u.node), Some(9));
        assert_eq!(c.kubelet_of("other-worker"), None);
        let c = parse("nodes: 2\nprocessRuntime: [kwb-worker]\n").unwrap();
        assert!(c.runs_processes(1) && !c.runs_processes(0));
    }

    #[test]
    fn bad_values_are_explained() {
        let err = |t: &str| parse(t).unwrap_err().to_string();
        assert!(err("components:\n  etcd:\n    backend: docker\n").contains("docker"));
        assert!(err("serviceCidr: 10.96.0.1/12\n").contains("did you mean 10.96.0.0/12"));
        assert!(err("serviceCidr: banana\n").contains("not a CIDR"));
        assert!(err("name: Demo_1\n").contains("DNS label"));
        assert!(err("nodes: 0\n").contains("1 to 100"));
        assert!(err("nodes: 3\npodCidr: 10.1.0.0/24\n").contains("a /24 each"));
        assert!(
            err("simulate:\n  - {image: x, crashAfter: soon}\n")
                .contains("simulate[0] (image \"x\"): crashAfter")
        );
        assert!(err("simulate:\n  - {image: x, crashes: 1}\n").contains("crashes"));
        assert!(
            err("processRuntime: [kwb-workr]\n")
                .contains("processRuntime[0]: \"kwb-workr\" is not a node of this cluster")
        );
        assert!(err("components:\n  etcd:\n    ports: {clinet: 1}\n").contains("client, peer"));
        assert!(err("components:\n  etcd:\n    path: /bin/etcd\n").contains("backend: binary"));
        assert!(err("name: [unclosed\n").contains("kwb.yaml"));
    }
}
