//! Logs of a pod or of a workload's pods, as the browser's log view shows them: every
//! container's (or one's), followed or the previous instance's, with or without the server's
//! timestamps, the streams of several containers merged line by line with a `[pod/container]`
//! prefix, as `kubectl logs --all-containers --prefix` writes them.

use futures::stream::{self, BoxStream};
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, LogParams};

use super::object::{ObjectRef, get, pod_selector};

/// A workload's logs follow at most this many of its pods (kubectl's --max-log-requests is 5;
/// a screen holds the lines of ten well).
pub const MAX_PODS: usize = 10;

/// Lines of each container's log shown before following it.
const TAIL_LINES: i64 = 500;

/// What a log view asks for; changing it starts the streams again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// One container's log; None: every container's.
    pub container: Option<String>,
    /// The previous (terminated) instance's log instead of the current one, not followed.
    pub previous: bool,
    /// Each line starts with the time the runtime received it.
    pub timestamps: bool,
}

impl LogOptions {
    /// `container web · previous · timestamps`, for the view's title.
    pub fn label(&self) -> String {
        let mut parts = vec![match &self.container {
            Some(c) => format!("container {c}"),
            None => "all containers".to_string(),
        }];
        if self.previous {
            parts.push("previous".into());
        }
        if self.timestamps {
            parts.push("timestamps".into());
        }
        parts.join(" · ")
    }
}

/// One container's log to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub pod: String,
    pub container: String,
}

/// What a log view reads: its sources, every container name there is to choose from, and a
/// note when not every pod is followed.
#[derive(Debug, Default)]
pub struct Plan {
    pub sources: Vec<Source>,
    pub containers: Vec<String>,
    pub note: Option<String>,
    /// Several pods: each line says its pod.
    pub per_pod: bool,
}

/// The containers of a pod (init containers first, as kubectl's --all-containers).
fn containers(pod: &Pod) -> Vec<String> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let init = spec.init_containers.iter().flatten();
    init.chain(&spec.containers)
        .map(|c| c.name.clone())
        .collect()
}

/// The sources of `pods` (in name order, at most [`MAX_PODS`]) for `container` (None: all).
pub fn plan(mut pods: Vec<Pod>, container: Option<&str>, per_pod: bool) -> Plan {
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let total = pods.len();
    pods.truncate(MAX_PODS);
    let mut plan = Plan {
        per_pod,
        note: (total > MAX_PODS)
            .then(|| format!("following {MAX_PODS} of {total} pods (the first by name)")),
        ..Plan::default()
    };
    for pod in &pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        for c in containers(pod) {
            if !plan.containers.contains(&c) {
                plan.containers.push(c.clone());
            }
            if container.is_none_or(|want| want == c) {
                plan.sources.push(Source {
                    pod: name.clone(),
                    container: c,
                });
            }
        }
    }
    if plan.sources.is_empty() && plan.note.is_none() {
        plan.note = Some(match container {
            Some(c) if total > 0 => format!("no container {c} here: c chooses another"),
            _ => "no pods to show logs of".into(),
        });
    }
    plan
}

/// The pods whose logs `object` shows: a pod itself, or the pods a workload or Service
/// selects.
pub async fn pods_of(client: &kube::Client, object: &ObjectRef) -> Result<Vec<Pod>, String> {
    let api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), &object.namespace);
    if object.resource.is("", &["pods"]) {
        return api
            .get(&object.name)
            .await
            .map(|p| vec![p])
            .map_err(message);
    }
    let value = get(client, object).await?;
    let Some(selector) = pod_selector(&value) else {
        return Ok(Vec::new());
    };
    let list = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(message)?;
    Ok(list.items)
}

fn message(e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        e => e.to_string(),
    }
}

/// The prefix of a source's lines: none for a pod's only container, else which one.
fn prefix(plan: &Plan, source: &Source) -> String {
    match (plan.per_pod, plan.sources.len()) {
        (true, _) => format!("[{}/{}] ", source.pod, source.container),
        (false, 1) => String::new(),
        (false, _) => format!("[{}] ", source.container),
    }
}

/// Reads every source of `plan` in `namespace` together, sending each line (prefixed) as it
/// comes until `send` returns false or every stream ends. A source that fails (no previous
/// instance, a container not started yet) says why on its own line; the others go on.
pub async fn stream(
    client: &kube::Client,
    namespace: &str,
    plan: &Plan,
    options: &LogOptions,
    send: impl Fn(String) -> bool,
) {
    let api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), namespace);
    let follow = !options.previous;
    let opened = plan.sources.iter().map(|source| {
        let api = api.clone();
        let prefix = prefix(plan, source);
        let params = LogParams {
            follow,
            tail_lines: Some(TAIL_LINES),
            container: Some(source.container.clone()),
            previous: options.previous,
            timestamps: options.timestamps,
            ..LogParams::default()
        };
        let pod = source.pod.clone();
        async move {
            let lines: BoxStream<'static, String> = match api.log_stream(&pod, &params).await {
                Ok(reader) => {
                    let p = prefix.clone();
                    let lines = reader.lines().map(move |l| match l {
                        Ok(l) => format!("{p}{l}"),
                        Err(e) => format!("{p}✖ {e}"),
                    });
                    let end = follow.then(|| format!("{prefix}── log ended (the container stopped or its pod went): l opens it again"));
                    lines.chain(stream::iter(end)).boxed()
                }
                Err(e) => stream::once(async move { format!("{prefix}✖ {}", message(e)) }).boxed(),
            };
            lines
        }
    });
    let streams = futures::future::join_all(opened).await;
    let mut merged = stream::select_all(streams);
    while let Some(line) = merged.next().await {
        if !send(line) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, containers: &[&str], init: &[&str]) -> Pod {
        let list = |names: &[&str]| -> Vec<serde_json::Value> {
            names.iter().map(|n| json!({"name": n})).collect()
        };
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"containers": list(containers), "initContainers": list(init)}
        }))
        .unwrap()
    }

    #[test]
    fn a_pod_with_one_container_has_no_prefix_and_several_say_which() {
        let one = plan(vec![pod("web-1", &["nginx"], &[])], None, false);
        assert_eq!(prefix(&one, &one.sources[0]), "");
        let two = plan(
            vec![pod("web-1", &["nginx", "proxy"], &["init"])],
            None,
            false,
        );
        assert_eq!(two.containers, ["init", "nginx", "proxy"]);
        assert_eq!(prefix(&two, &two.sources[2]), "[proxy] ");
        let chosen = plan(
            vec![pod("web-1", &["nginx", "proxy"], &[])],
            Some("proxy"),
            false,
        );
        assert_eq!(
            chosen.sources,
            [Source {
                pod: "web-1".into(),
                container: "proxy".into()
            }]
        );
        assert_eq!(chosen.containers, ["nginx", "proxy"], "all stay choosable");
    }

    #[test]
    fn a_workload_follows_its_first_pods_by_name_each_line_naming_its_pod() {
        let pods = (0..12)
            .rev()
            .map(|i| pod(&format!("web-{i:02}"), &["nginx"], &[]))
            .collect();
        let p = plan(pods, None, true);
        assert_eq!(p.sources.len(), MAX_PODS);
        assert_eq!(p.sources[0].pod, "web-00");
        assert_eq!(prefix(&p, &p.sources[0]), "[web-00/nginx] ");
        assert_eq!(
            p.note.as_deref(),
            Some("following 10 of 12 pods (the first by name)")
        );
        let none = plan(vec![], None, true);
        assert_eq!(none.note.as_deref(), Some("no pods to show logs of"));
        let missing = plan(vec![pod("a", &["x"], &[])], Some("y"), true);
        assert_eq!(
            missing.note.as_deref(),
            Some("no container y here: c chooses another")
        );
    }

    #[test]
    fn options_label_the_view() {
        let o = LogOptions {
            container: Some("nginx".into()),
            previous: true,
            timestamps: true,
        };
        assert_eq!(o.label(), "container nginx · previous · timestamps");
        assert_eq!(LogOptions::default().label(), "all containers");
    }
}
