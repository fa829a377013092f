//! `kwb tour`: the seed workshop ("Kubernetes is five binaries") step by step on a fresh local
//! control plane. Each step says what to do, why it matters, and the key or command; it
//! advances when the cluster shows it happened — a component ready, an object there, a pod
//! in a state — never on a timer. It ends with a rollout undo and the taint toggle.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use serde_json::Value;

use super::theme::Theme;
use crate::component::Component;

/// What the tour looks at in the cluster (the `web` Deployment of the default namespace,
/// its pods and Service, the nodes' taints), asked again every second.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// replicas, ready replicas, first container's image, revision.
    pub deployment: Option<(i64, i64, String, i64)>,
    /// Each `app=web` pod: phase, and the reason its container waits (ImagePullBackOff).
    pub pods: Vec<(String, Option<String>)>,
    pub service: bool,
    /// A node has the control-plane NoSchedule taint.
    pub tainted: bool,
}

impl Observed {
    /// From the Deployment (None: not there), the pods, the Service (present or not) and
    /// the nodes as the API lists them.
    pub fn from_objects(
        deployment: Option<&Value>,
        pods: &[Value],
        service: bool,
        nodes: &[Value],
    ) -> Observed {
        let deployment = deployment.map(|d| {
            let n = |v: &Value| v.as_i64().unwrap_or(0);
            (
                d["spec"]["replicas"].as_i64().unwrap_or(1),
                n(&d["status"]["readyReplicas"]),
                d["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                d["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0),
            )
        });
        let pods = pods
            .iter()
            .map(|p| {
                let waiting = p["status"]["containerStatuses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find_map(|c| c["state"]["waiting"]["reason"].as_str())
                    .map(str::to_string);
                (
                    p["status"]["phase"].as_str().unwrap_or("").to_string(),
                    waiting,
                )
            })
            .collect();
        let tainted = nodes.iter().any(|n| {
            n["spec"]["taints"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| {
                    t["key"] == crate::cluster::actions::CONTROL_PLANE_TAINT
                        && t["effect"] == "NoSchedule"
                })
        });
        Observed {
            deployment,
            pods,
            service,
            tainted,
        }
    }
}

/// One step: what to do, why, how (a key or a command), and when it is done.
pub struct Step {
    pub title: &'static str,
    pub why: &'static str,
    pub how: &'static str,
    done: fn(&Observed, &dyn Fn(Component) -> bool) -> bool,
}

fn running(o: &Observed) -> usize {
    o.pods
        .iter()
        .filter(|(phase, _)| phase == "Running")
        .count()
}

pub const STEPS: &[Step] = &[
    Step {
        title: "Start etcd",
        why: "etcd is where Kubernetes keeps all of its state; nothing works without it.",
        how: "1 focuses its pane, s starts it",
        done: |_, ready| ready(Component::Etcd),
    },
    Step {
        title: "Start the apiserver",
        why: "Only the apiserver talks to etcd; kubectl and every other component talk to the apiserver.",
        how: "2, then s",
        done: |_, ready| ready(Component::Apiserver),
    },
    Step {
        title: "Ask for a Deployment",
        why: "The apiserver stores what you ask for. Nothing runs yet: no component acts on it.",
        how: "in another terminal: export KUBECONFIG=<the path in the header>; kubectl create deployment web --image=nginx",
        done: |o, _| o.deployment.is_some(),
    },
    Step {
        title: "Start the controller-manager",
        why: "Its controllers turn the Deployment into a ReplicaSet, and the ReplicaSet into a Pod — which stays Pending.",
        how: "3, then s; :po lists the pod",
        done: |o, ready| ready(Component::ControllerManager) && !o.pods.is_empty(),
    },
    Step {
        title: "Start the scheduler",
        why: "It picks a node for each Pending pod — but there is no node yet.",
        how: "4, then s; :nodes is empty",
        done: |_, ready| ready(Component::Scheduler),
    },
    Step {
        title: "Start the kubelet",
        why: "The node registers; the scheduler binds the pod to it and the kubelet runs it.",
        how: "5, then s; :po shows it Running",
        done: |o, _| running(o) > 0,
    },
    Step {
        title: "Give it a Service",
        why: "A Service is a stable address in front of the pods that match its selector.",
        how: "kubectl expose deployment web --port=80",
        done: |o, _| o.service,
    },
    Step {
        title: "Start kube-proxy",
        why: "It programs the node so the Service's address reaches the pods.",
        how: "6, then s",
        done: |_, ready| ready(Component::Proxy),
    },
    Step {
        title: "Scale from kwb",
        why: "The ReplicaSet controller makes as many pods as asked; the scheduler places each.",
        how: ":deploy, select web, = then 3 and enter",
        done: |o, _| o.deployment.as_ref().is_some_and(|d| d.0 >= 3 && d.1 >= 3),
    },
    Step {
        title: "Roll out an image that does not exist",
        why: "A new ReplicaSet starts; its pods cannot pull the image, and the old ones keep serving.",
        how: ":image nginx=nginx:doesnotexist on web, then :po",
        done: |o, _| {
            o.pods.iter().any(|(_, waiting)| {
                matches!(
                    waiting.as_deref(),
                    Some("ImagePullBackOff" | "ErrImagePull")
                )
            })
        },
    },
    Step {
        title: "Undo the rollout",
        why: "The previous revision's template comes back, as kubectl rollout undo does it.",
        how: ":deploy, select web, u then y (h shows the history)",
        done: |o, _| {
            o.deployment
                .as_ref()
                .is_some_and(|(replicas, ready, image, revision)| {
                    !image.contains("doesnotexist") && ready >= replicas && *revision >= 3
                })
        },
    },
    Step {
        title: "Keep new pods off the node",
        why: "A NoSchedule taint: pods without a matching toleration are not scheduled there.",
        how: ":nodes, T toggles node-role.kubernetes.io/control-plane:NoSchedule; then scale web up",
        done: |o, _| o.tainted,
    },
    Step {
        title: "Take the taint away",
        why: "The Pending pod is scheduled at once: the scheduler retries when nodes change.",
        how: ":nodes, T again",
        done: |o, _| !o.tainted,
    },
];

/// Rows of the step's box.
pub const HEIGHT: u16 = 5;

/// Where the tour is.
#[derive(Debug, Default)]
pub struct Tour {
    /// The step being done; `STEPS.len()` when the tour is over.
    pub at: usize,
    pub observed: Observed,
}

impl Tour {
    /// Goes past every step the cluster shows done (several at once when a step's state is
    /// already there); true when it moved.
    pub fn advance(&mut self, ready: &dyn Fn(Component) -> bool) -> bool {
        let before = self.at;
        while let Some(step) = STEPS.get(self.at) {
            if !(step.done)(&self.observed, ready) {
                break;
            }
            self.at += 1;
        }
        self.at != before
    }

    pub fn finished(&self) -> bool {
        self.at >= STEPS.len()
    }

    /// The step's box across the bottom of `area`.
    pub fn draw(&self, theme: &Theme, frame: &mut Frame, area: Rect) {
        let height = HEIGHT.min(area.height);
        if height < 3 {
            return;
        }
        let at = Rect {
            y: area.bottom() - height,
            height,
            ..area
        };
        let (title, lines) = match STEPS.get(self.at) {
            Some(step) => (
                format!(" tour {}/{} · {} ", self.at + 1, STEPS.len(), step.title),
                vec![
                    Line::from(Span::styled(step.why, theme.get("text"))),
                    Line::from(vec![
                        Span::styled(" do ", theme.get("overlay.key")),
                        Span::styled(format!(" {}", step.how), theme.get("text.strong")),
                    ]),
                    Line::from(Span::styled(
                        "(the next step comes when the cluster shows this one happened)",
                        theme.get("text.dim"),
                    )),
                ],
            ),
            None => (
                " tour done ".to_string(),
                vec![Line::from(Span::styled(
                    "Five binaries and a store: that is Kubernetes. q quits (and stops every component).",
                    theme.get("text.strong"),
                ))],
            ),
        };
        frame.render_widget(Clear, at);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: true }).block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.get("pane.border.focused"))
                    .title(Span::styled(title, theme.get("pane.title.focused"))),
            ),
            at,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_tour_advances_only_on_what_the_cluster_shows() {
        let mut ready = vec![];
        let mut tour = Tour::default();
        let check = |tour: &mut Tour, ready: &Vec<Component>| {
            tour.advance(&|c| ready.contains(&c));
            tour.at
        };
        assert_eq!(check(&mut tour, &ready), 0, "nothing ready: the first step");
        ready.push(Component::Etcd);
        ready.push(Component::Apiserver);
        assert_eq!(check(&mut tour, &ready), 2, "both ready: two steps at once");
        let deployment = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "nginx"}]}}},
            "metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}}});
        tour.observed = Observed::from_objects(Some(&deployment), &[], false, &[]);
        assert_eq!(check(&mut tour, &ready), 3);
        ready.push(Component::ControllerManager);
        assert_eq!(check(&mut tour, &ready), 3, "no pod yet");
        let pending = json!({"status": {"phase": "Pending"}});
        tour.observed = Observed::from_objects(Some(&deployment), &[pending], false, &[]);
        assert_eq!(check(&mut tour, &ready), 4);
        let pulling = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        let observed = Observed::from_objects(Some(&deployment), &[pulling], true, &[]);
        assert_eq!(observed.pods[0].1.as_deref(), Some("ImagePullBackOff"));
        let node = json!({"spec": {"taints": [{"key": crate::cluster::actions::CONTROL_PLANE_TAINT, "effect": "NoSchedule"}]}});
        assert!(Observed::from_objects(None, &[], false, &[node]).tainted);
    }

    #[test]
    fn the_last_steps_are_the_undo_and_the_taint_toggle() {
        let titles: Vec<&str> = STEPS.iter().map(|s| s.title).collect();
        assert_eq!(
            titles[titles.len() - 3..],
            [
                "Undo the rollout",
                "Keep new pods off the node",
                "Take the taint away"
            ]
        );
    }
}
