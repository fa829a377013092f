//! Attach mode's stand-in for the six component panes: what the attached cluster reveals
//! about each component (cluster::health), one section each, in the panes' order.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::theme::Theme;
use crate::cluster::health::{Health, Leader, SystemPod};

/// A component's section: its state (symbol and theme role) and its lines.
pub struct Section {
    pub name: &'static str,
    pub look: (&'static str, &'static str),
    pub lines: Vec<String>,
}

const OK: (&str, &str) = ("●", "state.ready");
const BAD: (&str, &str) = ("✖", "state.failed");
const UNKNOWN: (&str, &str) = ("?", "state.stopped");

fn age(secs: Option<i64>) -> String {
    secs.map_or("never".into(), |s| format!("{s}s ago"))
}

fn leader(name: &'static str, lease: &str, leader: &Result<Option<Leader>, String>) -> Section {
    match leader {
        Ok(Some(l)) => Section {
            name,
            // Upstream renews every 2 s and gives up after 10 s (15 s lease).
            look: if l.renewed_secs_ago.is_some_and(|s| s <= 15) {
                OK
            } else {
                BAD
            },
            lines: vec![format!(
                "leader {} · lease renewed {}",
                l.holder,
                age(l.renewed_secs_ago)
            )],
        },
        Ok(None) => Section {
            name,
            look: UNKNOWN,
            lines: vec![format!(
                "not revealed: no kube-system/{lease} Lease (a managed control plane hides it)"
            )],
        },
        Err(e) => Section {
            name,
            look: UNKNOWN,
            lines: vec![format!("not revealed: {e}")],
        },
    }
}

/// The six sections for `health`.
pub fn sections(health: &Health) -> Vec<Section> {
    let checks = health.readyz.as_ref().ok();
    let etcd: Vec<_> = checks
        .into_iter()
        .flatten()
        .filter(|c| c.name.starts_with("etcd"))
        .collect();
    let etcd = if etcd.is_empty() {
        Section {
            name: "etcd",
            look: UNKNOWN,
            lines: vec!["not revealed: /readyz lists no etcd check".into()],
        }
    } else {
        Section {
            name: "etcd",
            look: if etcd.iter().all(|c| c.ok) { OK } else { BAD },
            lines: etcd
                .iter()
                .map(|c| {
                    format!(
                        "apiserver's {} check {}",
                        c.name,
                        if c.ok { "ok" } else { "failed" }
                    )
                })
                .collect(),
        }
    };
    let apiserver = {
        let mut lines = vec![match &health.version {
            Ok(v) => format!("version {v}"),
            Err(e) => format!("version: {e}"),
        }];
        let mut healthy = health.version.is_ok();
        match &health.readyz {
            Ok(c) => {
                let ok = c.iter().filter(|c| c.ok).count();
                lines.push(format!("readyz {ok}/{} checks ok", c.len()));
                for failed in c.iter().filter(|c| !c.ok) {
                    lines.push(format!("  ✖ {}", failed.name));
                }
                healthy &= ok == c.len();
            }
            Err(e) => {
                lines.push(format!("readyz: {e}"));
                healthy = false;
            }
        }
        match &health.livez {
            Ok(true) => lines.push("livez ok".into()),
            Ok(false) => {
                lines.push("livez failing".into());
                healthy = false;
            }
            Err(e) => lines.push(format!("livez: {e}")),
        }
        Section {
            name: "apiserver",
            look: if healthy { OK } else { BAD },
            lines,
        }
    };
    let kubelet = match &health.nodes {
        Ok(nodes) if nodes.is_empty() => Section {
            name: "kubelet",
            look: UNKNOWN,
            lines: vec!["no nodes registered".into()],
        },
        Ok(nodes) => Section {
            name: "kubelet",
            look: if nodes.iter().all(|n| n.ready) {
                OK
            } else {
                BAD
            },
            lines: nodes
                .iter()
                .map(|n| {
                    format!(
                        "{} {} {} · {} · lease {}",
                        if n.ready { "●" } else { "✖" },
                        n.name,
                        if n.ready { "Ready" } else { "NotReady" },
                        n.kubelet,
                        age(n.lease_secs_ago)
                    )
                })
                .collect(),
        },
        Err(e) => Section {
            name: "kubelet",
            look: UNKNOWN,
            lines: vec![format!("nodes: {e}")],
        },
    };
    let proxy = match &health.proxies {
        Ok(pods) if pods.is_empty() => Section {
            name: "proxy",
            look: UNKNOWN,
            lines: vec![
                "not revealed: no kube-proxy pods in kube-system (it may run outside the cluster, or another proxy replaces it)".into(),
            ],
        },
        Ok(pods) => Section {
            name: "proxy",
            look: if pods.iter().all(|p| p.phase == "Running") { OK } else { BAD },
            lines: pods.iter().flat_map(pod_lines).collect(),
        },
        Err(e) => Section {
            name: "proxy",
            look: UNKNOWN,
            lines: vec![format!("kube-proxy pods: {e}")],
        },
    };
    let mut all = vec![
        etcd,
        apiserver,
        leader(
            "controller-manager",
            "kube-controller-manager",
            &health.controller_manager,
        ),
        leader("scheduler", "kube-scheduler", &health.scheduler),
        kubelet,
        proxy,
    ];
    // kubeadm-style clusters run the control plane as static pods: their logs too.
    let components = [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
    ];
    for pod in health.static_pods.iter().flatten() {
        if let Some(i) = components.iter().position(|c| *c == pod.component) {
            all[i].lines.extend(pod_lines(pod));
        }
    }
    all
}

/// A component pod: where it runs and its state, then the newest lines of its log.
fn pod_lines(pod: &SystemPod) -> Vec<String> {
    let mut lines = vec![format!("pod {} on {} · {}", pod.name, pod.node, pod.phase)];
    lines.extend(pod.log.iter().map(|l| format!("  │ {l}")));
    lines
}

/// Draws the sections in `area` (or says the first look is still under way).
pub fn draw(health: Option<&Health>, theme: &Theme, frame: &mut Frame, area: Rect) {
    let Some(health) = health else {
        let text = Line::from(Span::styled(
            " looking at the control plane…",
            theme.get("text.dim"),
        ));
        frame.render_widget(Paragraph::new(text), area);
        return;
    };
    let mut lines = Vec::new();
    for s in sections(health) {
        let (symbol, role) = s.look;
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", s.name), theme.get("pane.title")),
            Span::styled(format!(" {symbol} "), theme.get(role)),
        ]));
        for l in s.lines {
            lines.push(Line::from(Span::styled(format!(" {l}"), theme.get("text"))));
        }
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::health::{Check, NodeHealth};

    fn health() -> Health {
        Health {
            version: Ok("v1.33.1".into()),
            readyz: Ok(vec![
                Check {
                    name: "ping".into(),
                    ok: true,
                },
                Check {
                    name: "etcd".into(),
                    ok: false,
                },
            ]),
            livez: Ok(true),
            controller_manager: Ok(Some(Leader {
                holder: "cp_1234".into(),
                renewed_secs_ago: Some(2),
            })),
            scheduler: Ok(None),
            nodes: Ok(vec![NodeHealth {
                name: "kwb-control-plane".into(),
                ready: true,
                kubelet: "v1.33.1".into(),
                lease_secs_ago: Some(4),
            }]),
            proxies: Ok(vec![]),
            static_pods: Ok(vec![SystemPod {
                component: "etcd".into(),
                name: "etcd-kwb-control-plane".into(),
                node: "kwb-control-plane".into(),
                phase: "Running".into(),
                log: vec!["ready to serve client requests".into()],
            }]),
        }
    }

    #[test]
    fn each_component_says_what_the_cluster_reveals_and_what_it_does_not() {
        let s = sections(&health());
        let names: Vec<&str> = s.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "etcd",
                "apiserver",
                "controller-manager",
                "scheduler",
                "kubelet",
                "proxy"
            ]
        );
        assert_eq!(s[0].look, BAD);
        assert_eq!(
            s[0].lines,
            [
                "apiserver's etcd check failed",
                "pod etcd-kwb-control-plane on kwb-control-plane · Running",
                "  │ ready to serve client requests"
            ]
        );
        assert_eq!(
            s[1].lines,
            [
                "version v1.33.1",
                "readyz 1/2 checks ok",
                "  ✖ etcd",
                "livez ok"
            ]
        );
        assert_eq!(s[2].lines, ["leader cp_1234 · lease renewed 2s ago"]);
        assert!(s[3].lines[0].starts_with("not revealed: no kube-system/kube-scheduler Lease"));
        assert_eq!(
            s[4].lines,
            ["● kwb-control-plane Ready · v1.33.1 · lease 4s ago"]
        );
        assert!(s[5].lines[0].starts_with("not revealed: no kube-proxy pods"));
    }
}
