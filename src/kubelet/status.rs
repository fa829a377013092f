//! The status a kubelet reports for a pod as it starts and runs (what `kubectl get pods`
//! turns into ContainerCreating and Running, and `describe` into conditions and states).

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

fn stamp(t: Timestamp) -> Time {
    Time(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

fn condition(type_: &str, ok: bool, reason: Option<&str>, at: &Time) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.map(str::to_string),
        last_transition_time: Some(at.clone()),
        ..PodCondition::default()
    }
}

/// The id the simulated runtime gives a container (stable for the pod's uid and name).
pub fn container_id(pod: &Pod, container: &str) -> String {
    format!(
        "sim://{}-{container}",
        pod.metadata.uid.as_deref().unwrap_or("")
    )
}

fn base(pod: &Pod, host_ip: &str, started: Timestamp) -> PodStatus {
    let previous = pod.status.clone().unwrap_or_default();
    PodStatus {
        host_ip: Some(host_ip.into()),
        host_ips: Some(vec![HostIP { ip: host_ip.into() }]),
        start_time: previous.start_time.or(Some(stamp(started))),
        qos_class: previous.qos_class,
        ..PodStatus::default()
    }
}

fn containers(pod: &Pod) -> Vec<(String, String)> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
        .collect()
}

/// Bound and being set up: Pending with every container waiting in ContainerCreating.
pub fn starting(pod: &Pod, host_ip: &str, now: Timestamp) -> PodStatus {
    let at = stamp(now);
    PodStatus {
        phase: Some("Pending".into()),
        conditions: Some(vec![
            condition("PodReadyToStartContainers", false, None, &at),
            condition("Initialized", true, None, &at),
            condition("Ready", false, Some("ContainersNotReady"), &at),
            condition("ContainersReady", false, Some("ContainersNotReady"), &at),
            condition("PodScheduled", true, None, &at),
        ]),
        container_statuses: Some(
            containers(pod)
                .into_iter()
                .map(|(name, image)| ContainerStatus {
                    name,
                    image,
                    image_id: String::new(),
                    ready: false,
                    started: Some(false),
                    restart_count: 0,
                    state: Some(ContainerState {
                        waiting: Some(ContainerStateWaiting {
                            reason: Some("ContainerCreating".into()),
                            message: None,
                        }),
                        ..ContainerState::default()
                    }),
                    ..ContainerStatus::default()
                })
                .collect(),
        ),
        ..base(pod, host_ip, now)
    }
}

/// Every container running and ready since `started`, the pod at `pod_ip`.
pub fn running(pod: &Pod, host_ip: &str, pod_ip: &str, started: Timestamp) -> PodStatus {
    let at = stamp(started);
    PodStatus {
        phase: Some("Running".into()),
        pod_ip: Some(pod_ip.into()),
        pod_ips: Some(vec![PodIP { ip: pod_ip.into() }]),
        conditions: Some(vec![
            condition("PodReadyToStartContainers", true, None, &at),
            condition("Initialized", true, None, &at),
            condition("Ready", true, None, &at),
            condition("ContainersReady", true, None, &at),
            condition("PodScheduled", true, None, &at),
        ]),
        container_statuses: Some(
            containers(pod)
                .into_iter()
                .map(|(name, image)| ContainerStatus {
                    container_id: Some(container_id(pod, &name)),
                    image_id: format!("sim://{image}"),
                    name,
                    image,
                    ready: true,
                    started: Some(true),
                    restart_count: 0,
                    state: Some(ContainerState {
                        running: Some(ContainerStateRunning {
                            started_at: Some(at.clone()),
                        }),
                        ..ContainerState::default()
                    }),
                    ..ContainerStatus::default()
                })
                .collect(),
        ),
        ..base(pod, host_ip, started)
    }
}

/// Every container ran to completion with exit code 0 (a Job's pod): Succeeded.
pub fn completed(
    pod: &Pod,
    host_ip: &str,
    pod_ip: &str,
    started: Timestamp,
    finished: Timestamp,
) -> PodStatus {
    let (started, finished) = (stamp(started), stamp(finished));
    PodStatus {
        phase: Some("Succeeded".into()),
        pod_ip: Some(pod_ip.into()),
        pod_ips: Some(vec![PodIP { ip: pod_ip.into() }]),
        conditions: Some(vec![
            condition("PodReadyToStartContainers", false, None, &finished),
            condition("Initialized", true, Some("PodCompleted"), &started),
            condition("Ready", false, Some("PodCompleted"), &finished),
            condition("ContainersReady", false, Some("PodCompleted"), &finished),
            condition("PodScheduled", true, None, &started),
        ]),
        container_statuses: Some(
            containers(pod)
                .into_iter()
                .map(|(name, image)| (container_id(pod, &name), name, image))
                .map(|(id, name, image)| ContainerStatus {
                    container_id: Some(id.clone()),
                    image_id: format!("sim://{image}"),
                    name,
                    image,
                    ready: false,
                    started: Some(false),
                    restart_count: 0,
                    state: Some(ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            exit_code: 0,
                            reason: Some("Completed".into()),
                            started_at: Some(started.clone()),
                            finished_at: Some(finished.clone()),
                            container_id: Some(id),
                            ..ContainerStateTerminated::default()
                        }),
                        ..ContainerState::default()
                    }),
                    ..ContainerStatus::default()
                })
                .collect(),
        ),
        ..base(pod, host_ip, started.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "web-1", "uid": "u1"},
            "spec": {"nodeName": "n", "containers": [{"name": "nginx", "image": "nginx"}]},
            "status": {"qosClass": "BestEffort"}}))
        .unwrap()
    }

    #[test]
    fn a_pod_goes_from_container_creating_to_running_and_ready() {
        let t = Timestamp::from_second(1_700_000_000).unwrap();
        let s = starting(&pod(), "127.0.0.1", t);
        assert_eq!(s.phase.as_deref(), Some("Pending"));
        let waiting = s.container_statuses.as_ref().unwrap()[0]
            .state
            .as_ref()
            .unwrap();
        assert_eq!(
            waiting.waiting.as_ref().unwrap().reason.as_deref(),
            Some("ContainerCreating")
        );
        assert_eq!(s.qos_class.as_deref(), Some("BestEffort"));
        let r = running(&pod(), "127.0.0.1", "127.244.0.2", t);
        assert_eq!(r.phase.as_deref(), Some("Running"));
        assert_eq!(r.pod_ip.as_deref(), Some("127.244.0.2"));
        let c = &r.container_statuses.as_ref().unwrap()[0];
        assert!(c.ready && c.state.as_ref().unwrap().running.is_some());
        assert_eq!(c.container_id.as_deref(), Some("sim://u1-nginx"));
        let ready = r
            .conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(ready.status, "True");
    }
}
