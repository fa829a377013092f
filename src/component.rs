//! The six control-plane components, their start order and their dependencies.
//!
//! One source of truth for names: the CLI (`kwb start etcd`), the config keys, the log file
//! names and the TUI pane titles all come from here.

use serde::{Deserialize, Serialize};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    Etcd,
    Apiserver,
    ControllerManager,
    Scheduler,
    Kubelet,
    Proxy,
}

impl Component {
    /// In start order; stopping goes the other way.
    pub const ALL: [Component; 6] = [
        Component::Etcd,
        Component::Apiserver,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Kubelet,
        Component::Proxy,
    ];

    /// The name used on the command line, in kwb.yaml, in file names and pane titles.
    pub fn name(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::Apiserver => "apiserver",
            Component::ControllerManager => "controller-manager",
            Component::Scheduler => "scheduler",
            Component::Kubelet => "kubelet",
            Component::Proxy => "proxy",
        }
    }

    /// The upstream program the `binary` backend looks for on PATH.
    pub fn upstream_binary(self) -> &'static str {
        match self {
            Component::Etcd => "etcd",
            Component::Apiserver => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Kubelet => "kubelet",
            Component::Proxy => "kube-proxy",
        }
    }

    /// Components that must be ready before this one can do its job. Starting a component whose
    /// dependency is down is still allowed: it fails as the real one would, and recovers later.
    pub fn dependencies(self) -> &'static [Component] {
        match self {
            Component::Etcd => &[],
            Component::Apiserver => &[Component::Etcd],
            Component::ControllerManager
            | Component::Scheduler
            | Component::Kubelet
            | Component::Proxy => &[Component::Apiserver],
        }
    }

    /// Start stages: every component of a stage starts once all earlier stages are ready.
    /// etcd → apiserver → controller-manager and scheduler → kubelet and proxy.
    pub fn stage(self) -> usize {
        match self {
            Component::Etcd => 0,
            Component::Apiserver => 1,
            Component::ControllerManager | Component::Scheduler => 2,
            Component::Kubelet | Component::Proxy => 3,
        }
    }

    pub fn from_name(name: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// One supervised process: a component on a node. Only the kubelet runs once per node; every
/// other component runs once, as node 0's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unit {
    pub component: Component,
    /// Index into the config's node names.
    #[serde(default)]
    pub node: u16,
}

impl Unit {
    pub const fn of(component: Component) -> Unit {
        Unit { component, node: 0 }
    }

    /// Every unit of a cluster with `nodes` nodes, in start order.
    pub fn all(nodes: u16) -> Vec<Unit> {
        Component::ALL
            .into_iter()
            .flat_map(|component| {
                let n = if component == Component::Kubelet {
                    nodes.max(1)
                } else {
                    1
                };
                (0..n).map(move |node| Unit { component, node })
            })
            .collect()
    }
}

/// What a start/stop/restart command aims at: one node's unit, or every unit of a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub component: Component,
    /// `None`: all of the component's units (every kubelet).
    #[serde(default)]
    pub node: Option<u16>,
}

impl Target {
    pub fn matches(&self, u: Unit) -> bool {
        u.component == self.component && self.node.is_none_or(|n| n == u.node)
    }
}

impl From<Component> for Unit {
    fn from(c: Component) -> Unit {
        Unit::of(c)
    }
}

impl From<Component> for Target {
    fn from(component: Component) -> Target {
        Target {
            component,
            node: None,
        }
    }
}

impl From<Unit> for Target {
    fn from(u: Unit) -> Target {
        Target {
            component: u.component,
            node: Some(u.node),
        }
    }
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_from_earlier_stages() {
        for c in Component::ALL {
            for d in c.dependencies() {
                assert!(d.stage() < c.stage(), "{c} depends on {d} of a later stage");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for c in Component::ALL {
            assert_eq!(Component::from_name(c.name()), Some(c));
        }
        assert_eq!(Component::from_name("kube-proxy"), None);
    }

    #[test]
    fn only_the_kubelet_runs_per_node() {
        let units = Unit::all(3);
        assert_eq!(units.len(), 8);
        let kubelets: Vec<u16> = units
            .iter()
            .filter(|u| u.component == Component::Kubelet)
            .map(|u| u.node)
            .collect();
        assert_eq!(kubelets, [0, 1, 2]);
        assert!(Target::from(Component::Kubelet).matches(units[5]));
        assert!(!Target::from(Unit::of(Component::Kubelet)).matches(units[5]));
        assert_eq!(Unit::all(0).len(), 6);
    }
}
