//! Table columns per kind: what `kubectl get` prints, as upstream's printers define them. The
//! builtin apiserver serves them as meta.k8s.io/v1 Table; the TUI will show the same cells.

use serde_json::Value;

use super::Kind;

pub struct Column {
    pub name: &'static str,
    pub r#type: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    /// 0: always shown; 1: only with `-o wide`.
    pub priority: u8,
}

const NAME: Column = Column {
    name: "Name",
    r#type: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
};
const AGE: Column = Column {
    name: "Age",
    r#type: "string",
    format: "",
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
    priority: 0,
};

const fn col(
    name: &'static str,
    r#type: &'static str,
    description: &'static str,
    priority: u8,
) -> Column {
    Column {
        name,
        r#type,
        format: "",
        description,
        priority,
    }
}

/// The `-o wide` columns of workloads, whose cells come from [`template_columns`].
const CONTAINERS: Column = col(
    "Containers",
    "string",
    "Names of each container in the template.",
    1,
);
const IMAGES: Column = col(
    "Images",
    "string",
    "Images referenced by each container in the template.",
    1,
);
const SELECTOR: Column = col("Selector", "string", "Label selector for pods.", 1);

pub fn columns(kind: &Kind) -> Vec<Column> {
    let s = "string";
    let i = "integer";
    match (kind.group, kind.kind) {
        ("", "Namespace") => vec![
            NAME,
            col("Status", s, "The status of the namespace", 0),
            AGE,
        ],
        ("", "ConfigMap") => vec![
            NAME,
            col("Data", i, "Number of data entries, binary data included", 0),
            AGE,
        ],
        ("", "Secret") => vec![
            NAME,
            col("Type", s, "The type of the secret", 0),
            col("Data", i, "Number of data entries", 0),
            AGE,
        ],
        ("", "Pod") => vec![
            NAME,
            col(
                "Ready",
                s,
                "The aggregate readiness state of this pod for accepting traffic.",
                0,
            ),
            col(
                "Status",
                s,
                "The aggregate status of the containers in this pod.",
                0,
            ),
            col(
                "Restarts",
                s,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                0,
            ),
            AGE,
            col(
                "IP",
                s,
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
                1,
            ),
            col("Node", s, "Name of the Node this pod is assigned to.", 1),
            col(
                "Nominated Node",
                s,
                "Name of the node nominated by the scheduler.",
                1,
            ),
            col(
                "Readiness Gates",
                s,
                "The readiness gates of this pod: ready/total.",
                1,
            ),
        ],
        ("", "Service") => vec![
            NAME,
            col("Type", s, "The type of the service.", 0),
            col(
                "Cluster-IP",
                s,
                "The IP address the service is reachable at inside the cluster.",
                0,
            ),
            col("External-IP", s, "The external IPs of the service.", 0),
            col("Port(s)", s, "The ports the service exposes.", 0),
            AGE,
            col(
                "Selector",
                s,
                "Route traffic to pods with label keys and values matching this selector.",
                1,
            ),
        ],
        ("", "Endpoints") => vec![
            NAME,
            col("Endpoints", s, "Endpoints of the service", 0),
            AGE,
        ],
        ("", "Node") => vec![
            NAME,
            col("Status", s, "The status of the node", 0),
            col("Roles", s, "The roles of the node", 0),
            AGE,
            col("Version", s, "Kubelet Version reported by the node.", 0),
            col(
                "Internal-IP",
                s,
                "List of internal IPs (if any) of the node.",
                1,
            ),
            col(
                "External-IP",
                s,
                "List of external IPs (if any) of the node.",
                1,
            ),
            col("OS-Image", s, "OS image reported by the node.", 1),
            col(
                "Kernel-Version",
                s,
                "Kernel version reported by the node.",
                1,
            ),
            col(
                "Container-Runtime",
                s,
                "Container runtime and version reported by the node.",
                1,
            ),
        ],
        ("", "ServiceAccount") => vec![
            NAME,
            col("Secrets", i, "The secrets of the service account", 0),
            AGE,
        ],
        ("", "Event") => vec![
            col("Last Seen", s, "Time since the event was last seen", 0),
            col("Type", s, "Type of the event", 0),
            col(
                "Reason",
                s,
                "Short, machine understandable reason for the event",
                0,
            ),
            col("Object", s, "The object the event is about", 0),
            col("Message", s, "A human-readable description of the event", 0),
        ],
        ("apps", "Deployment") => vec![
            NAME,
            col("Ready", s, "Number of the pod with ready state", 0),
            col(
                "Up-to-date",
                i,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
                0,
            ),
            col(
                "Available",
                i,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
                0,
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        ("apps", "ReplicaSet") => vec![
            NAME,
            col("Desired", i, "Number of desired pods.", 0),
            col("Current", i, "Number of actual replicas.", 0),
            col(
                "Ready",
                i,
                "The number of ready replicas for this replica set.",
                0,
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        ("apps", "StatefulSet") => vec![
            NAME,
            col("Ready", s, "Number of the pod with ready state", 0),
            AGE,
            CONTAINERS,
            IMAGES,
        ],
        ("apps", "DaemonSet") => vec![
            NAME,
            col(
                "Desired",
                i,
                "The total number of nodes that should be running the daemon pod.",
                0,
            ),
            col(
                "Current",
                i,
                "The number of nodes running at least one daemon pod.",
                0,
            ),
            col(
                "Ready",
                i,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
                0,
            ),
            col(
                "Up-to-date",
                i,
                "The total number of nodes that are running updated daemon pod.",
                0,
            ),
            col(
                "Available",
                i,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
                0,
            ),
            col(
                "Node Selector",
                s,
                "A node selector that decides which nodes run the daemon pod.",
                0,
            ),
            AGE,
        ],
        ("batch", "Job") => vec![
            NAME,
            col("Status", s, "Status of the job.", 0),
            col(
                "Completions",
                s,
                "The completion status of the job: succeeded/completions.",
                0,
            ),
            col("Duration", s, "Time required to complete the job.", 0),
            AGE,
        ],
        ("batch", "CronJob") => vec![
            NAME,
            col("Schedule", s, "The schedule for running the job.", 0),
            col("Timezone", s, "The time zone of the schedule.", 0),
            col("Suspend", s, "Whether later executions are suspended.", 0),
            col("Active", i, "The number of running jobs.", 0),
            col("Last Schedule", s, "When the job was last scheduled.", 0),
            AGE,
        ],
        ("coordination.k8s.io", "Lease") => {
            vec![NAME, col("Holder", s, "The holder of the lease", 0), AGE]
        }
        ("discovery.k8s.io", "EndpointSlice") => vec![
            NAME,
            col("AddressType", s, "The type of address in the slice", 0),
            col("Ports", s, "The ports of the slice", 0),
            col("Endpoints", s, "The addresses of the endpoints", 0),
            AGE,
        ],
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => {
            vec![NAME, col("Created At", s, "When the role was created", 0)]
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![
                NAME,
                col("Created At", s, "When the definition was created", 0),
            ]
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            NAME,
            col("Role", s, "The role the binding grants", 0),
            AGE,
            col("Users", s, "The users the binding names", 1),
            col("Groups", s, "The groups the binding names", 1),
            col(
                "ServiceAccounts",
                s,
                "The service accounts the binding names",
                1,
            ),
        ],
        _ => vec![NAME, AGE],
    }
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn int_of(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn none_if_empty(s: String) -> Value {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.into()
    }
}

/// Containers, images and selector of a workload's pod template (the `-o wide` columns).
fn template_columns(obj: &Value) -> [Value; 3] {
    let containers = obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| str_of(&c["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_of(&c["image"])).collect();
    [
        names.join(",").into(),
        images.join(",").into(),
        none_if_empty(selector_text(&obj["spec"]["selector"])),
    ]
}

/// `app=web,tier in (fe)`, as kubectl prints a label selector.
fn selector_text(sel: &Value) -> String {
    let mut parts: Vec<String> = sel["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", str_of(v)))
                .collect()
        })
        .unwrap_or_default();
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(str_of)
            .collect();
        let (k, op) = (str_of(&e["key"]), str_of(&e["operator"]));
        parts.push(match op {
            "In" => format!("{k} in ({})", values.join(",")),
            "NotIn" => format!("{k} notin ({})", values.join(",")),
            "Exists" => k.to_string(),
            _ => format!("!{k}"),
        });
    }
    parts.join(",")
}

/// A pod's READY, STATUS and RESTARTS columns, derived as upstream's printer does (init
/// containers first — `Init:0/1`, `Init:CrashLoopBackOff` —, then the app containers from
/// last to first, sidecars counted as app containers once started; restarts with the time of
/// the last one: `2 (5s ago)`).
struct PodSummary {
    ready: usize,
    total: usize,
    reason: String,
    restarts: String,
}

fn pod_summary(obj: &Value, now: i64) -> PodSummary {
    let (spec, status) = (&obj["spec"], &obj["status"]);
    let array = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let phase = str_of(&status["phase"]).to_string();
    let mut reason = status["reason"]
        .as_str()
        .filter(|r| !r.is_empty())
        .map_or(phase.clone(), str::to_string);
    if array(&status["conditions"])
        .iter()
        .any(|c| c["type"] == "PodScheduled" && c["reason"] == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let init_specs = array(&spec["initContainers"]);
    let sidecar = |name: &Value| {
        init_specs
            .iter()
            .any(|c| c["name"] == *name && c["restartPolicy"] == "Always")
    };
    let total = array(&spec["containers"]).len()
        + init_specs
            .iter()
            .filter(|c| c["restartPolicy"] == "Always")
            .count();
    let mut ready = 0;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<String> = None;
    let mut last_sidecar_restart: Option<String> = None;
    let later = |a: &Option<String>, b: &Value| -> Option<String> {
        match (a, b.as_str()) {
            (Some(x), Some(y)) if y > x.as_str() => Some(y.to_string()),
            (None, Some(y)) => Some(y.to_string()),
            (x, _) => x.clone(),
        }
    };
    let mut initializing = false;
    let inits = array(&status["initContainerStatuses"]);
    for (i, c) in inits.iter().enumerate() {
        restarts += int_of(&c["restartCount"]);
        let finished = &c["lastState"]["terminated"]["finishedAt"];
        last_restart = later(&last_restart, finished);
        if sidecar(&c["name"]) {
            sidecar_restarts += int_of(&c["restartCount"]);
            last_sidecar_restart = later(&last_sidecar_restart, finished);
        }
        let terminated = &c["state"]["terminated"];
        let waiting = str_of(&c["state"]["waiting"]["reason"]);
        if terminated.is_object() && int_of(&terminated["exitCode"]) == 0 {
            continue;
        }
        if sidecar(&c["name"]) && c["started"] == true {
            if c["ready"] == true {
                ready += 1;
            }
            continue;
        }
        reason = if terminated.is_object() {
            match str_of(&terminated["reason"]) {
                "" if int_of(&terminated["signal"]) != 0 => {
                    format!("Init:Signal:{}", int_of(&terminated["signal"]))
                }
                "" => format!("Init:ExitCode:{}", int_of(&terminated["exitCode"])),
                r => format!("Init:{r}"),
            }
        } else if !waiting.is_empty() && waiting != "PodInitializing" {
            format!("Init:{waiting}")
        } else {
            format!("Init:{i}/{}", init_specs.len())
        };
        initializing = true;
        break;
    }
    let initialized = array(&status["conditions"])
        .iter()
        .any(|c| c["type"] == "Initialized" && c["status"] == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut running = false;
        for c in array(&status["containerStatuses"]).iter().rev() {
            restarts += int_of(&c["restartCount"]);
            last_restart = later(&last_restart, &c["lastState"]["terminated"]["finishedAt"]);
            let state = &c["state"];
            let terminated = &state["terminated"];
            if !str_of(&state["waiting"]["reason"]).is_empty() {
                reason = str_of(&state["waiting"]["reason"]).to_string();
            } else if !str_of(&terminated["reason"]).is_empty() {
                reason = str_of(&terminated["reason"]).to_string();
            } else if terminated.is_object() {
                reason = match int_of(&terminated["signal"]) {
                    0 => format!("ExitCode:{}", int_of(&terminated["exitCode"])),
                    s => format!("Signal:{s}"),
                };
            } else if c["ready"] == true && state["running"].is_object() {
                running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && running {
            let pod_ready = array(&status["conditions"])
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    let deleting = !obj["metadata"]["deletionTimestamp"].is_null();
    if deleting && status["reason"] == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    if reason.is_empty() {
        reason = "Pending".into();
    }
    let restarts = match &last_restart {
        Some(at) if restarts != 0 => format!("{restarts} ({} ago)", age(Some(at), now)),
        _ => restarts.to_string(),
    };
    PodSummary {
        ready,
        total,
        reason,
        restarts,
    }
}

fn service_ports(obj: &Value) -> String {
    let ports: Vec<String> = obj["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            match p["nodePort"].as_i64() {
                Some(np) => format!("{}:{np}/{proto}", int_of(&p["port"])),
                None => format!("{}/{proto}", int_of(&p["port"])),
            }
        })
        .collect();
    ports.join(",")
}

fn node_status(obj: &Value) -> String {
    let ready = obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .map(|c| str_of(&c["status"]) == "True");
    let mut s = match ready {
        Some(true) => "Ready".to_string(),
        Some(false) => "NotReady".to_string(),
        None => "Unknown".to_string(),
    };
    if obj["spec"]["unschedulable"].as_bool() == Some(true) {
        s.push_str(",SchedulingDisabled");
    }
    s
}

fn node_roles(obj: &Value) -> String {
    let roles: Vec<&str> = obj["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
        .collect();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

fn node_address(obj: &Value, kind: &str) -> Value {
    let a: Vec<&str> = obj["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["type"] == kind)
        .map(|a| str_of(&a["address"]))
        .collect();
    none_if_empty(a.join(","))
}

/// The row cells of `obj` for its kind's columns; `now` in seconds since the epoch.
pub fn cells(kind: &Kind, obj: &Value, now: i64) -> Vec<Value> {
    let name = obj["metadata"]["name"].clone();
    let age = Value::String(age(obj["metadata"]["creationTimestamp"].as_str(), now));
    let count = |v: &Value| v.as_object().map_or(0, |m| m.len());
    let (spec, status) = (&obj["spec"], &obj["status"]);
    match (kind.group, kind.kind) {
        ("", "Namespace") => vec![name, str_of(&status["phase"]).to_string().into(), age],
        ("", "ConfigMap") => vec![
            name,
            (count(&obj["data"]) + count(&obj["binaryData"])).into(),
            age,
        ],
        ("", "Secret") => vec![
            name,
            obj["type"].as_str().unwrap_or("Opaque").into(),
            count(&obj["data"]).into(),
            age,
        ],
        ("", "Pod") => {
            let pod = pod_summary(obj, now);
            let gates = spec["readinessGates"].as_array().map_or(0, |g| g.len());
            vec![
                name,
                format!("{}/{}", pod.ready, pod.total).into(),
                pod.reason.into(),
                pod.restarts.into(),
                age,
                none_if_empty(str_of(&status["podIP"]).to_string()),
                none_if_empty(str_of(&spec["nodeName"]).to_string()),
                none_if_empty(str_of(&status["nominatedNodeName"]).to_string()),
                if gates == 0 {
                    "<none>".into()
                } else {
                    format!("0/{gates}").into()
                },
            ]
        }
        ("", "Service") => {
            let external: Vec<String> = status["loadBalancer"]["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| str_of(&i["ip"]).to_string())
                .chain(
                    spec["externalIPs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|v| str_of(v).to_string()),
                )
                .collect();
            let ty = spec["type"].as_str().unwrap_or("ClusterIP");
            let external = if external.is_empty() {
                if ty == "LoadBalancer" {
                    "<pending>".to_string()
                } else {
                    "<none>".to_string()
                }
            } else {
                external.join(",")
            };
            let selector: Vec<String> = spec["selector"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", str_of(v)))
                .collect();
            vec![
                name,
                ty.into(),
                none_if_empty(str_of(&spec["clusterIP"]).to_string()),
                external.into(),
                none_if_empty(service_ports(obj)),
                age,
                none_if_empty(selector.join(",")),
            ]
        }
        ("", "Endpoints") => {
            let mut eps = Vec::new();
            for sub in obj["subsets"].as_array().into_iter().flatten() {
                for a in sub["addresses"].as_array().into_iter().flatten() {
                    for p in sub["ports"].as_array().into_iter().flatten() {
                        eps.push(format!("{}:{}", str_of(&a["ip"]), int_of(&p["port"])));
                    }
                }
            }
            vec![name, none_if_empty(eps.join(",")), age]
        }
        ("", "Node") => vec![
            name,
            node_status(obj).into(),
            node_roles(obj).into(),
            age,
            str_of(&status["nodeInfo"]["kubeletVersion"])
                .to_string()
                .into(),
            node_address(obj, "InternalIP"),
            node_address(obj, "ExternalIP"),
            none_if_empty(str_of(&status["nodeInfo"]["osImage"]).to_string()),
            none_if_empty(str_of(&status["nodeInfo"]["kernelVersion"]).to_string()),
            none_if_empty(str_of(&status["nodeInfo"]["containerRuntimeVersion"]).to_string()),
        ],
        ("", "ServiceAccount") => vec![
            name,
            obj["secrets"].as_array().map_or(0, |s| s.len()).into(),
            age,
        ],
        ("", "Event") => {
            let last = obj["lastTimestamp"]
                .as_str()
                .or(obj["eventTime"].as_str())
                .or(obj["metadata"]["creationTimestamp"].as_str());
            let io = &obj["involvedObject"];
            vec![
                self::age(last, now).into(),
                str_of(&obj["type"]).to_string().into(),
                str_of(&obj["reason"]).to_string().into(),
                format!(
                    "{}/{}",
                    str_of(&io["kind"]).to_lowercase(),
                    str_of(&io["name"])
                )
                .into(),
                str_of(&obj["message"]).to_string().into(),
            ]
        }
        ("apps", "Deployment") => {
            let [containers, images, selector] = template_columns(obj);
            vec![
                name,
                format!(
                    "{}/{}",
                    int_of(&status["readyReplicas"]),
                    spec["replicas"].as_i64().unwrap_or(1)
                )
                .into(),
                int_of(&status["updatedReplicas"]).into(),
                int_of(&status["availableReplicas"]).into(),
                age,
                containers,
                images,
                selector,
            ]
        }
        ("apps", "ReplicaSet") => {
            let [containers, images, selector] = template_columns(obj);
            vec![
                name,
                spec["replicas"].as_i64().unwrap_or(1).into(),
                int_of(&status["replicas"]).into(),
                int_of(&status["readyReplicas"]).into(),
                age,
                containers,
                images,
                selector,
            ]
        }
        ("apps", "StatefulSet") => {
            let [containers, images, _] = template_columns(obj);
            vec![
                name,
                format!(
                    "{}/{}",
                    int_of(&status["readyReplicas"]),
                    spec["replicas"].as_i64().unwrap_or(1)
                )
                .into(),
                age,
                containers,
                images,
            ]
        }
        ("apps", "DaemonSet") => {
            let selector: Vec<String> = spec["template"]["spec"]["nodeSelector"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={}", str_of(v)))
                .collect();
            vec![
                name,
                int_of(&status["desiredNumberScheduled"]).into(),
                int_of(&status["currentNumberScheduled"]).into(),
                int_of(&status["numberReady"]).into(),
                int_of(&status["updatedNumberScheduled"]).into(),
                int_of(&status["numberAvailable"]).into(),
                none_if_empty(selector.join(",")),
                age,
            ]
        }
        ("batch", "Job") => {
            let completions = spec["completions"].as_i64().unwrap_or(1);
            let succeeded = int_of(&status["succeeded"]);
            let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
            let has = |t: &str| {
                conditions
                    .iter()
                    .any(|c| c["type"] == t && c["status"] == "True")
            };
            let state = if has("Complete") {
                "Complete"
            } else if has("Failed") {
                "Failed"
            } else if spec["suspend"].as_bool() == Some(true) {
                "Suspended"
            } else {
                "Running"
            };
            let duration = match (
                status["startTime"].as_str(),
                status["completionTime"].as_str(),
            ) {
                (Some(start), Some(end)) => {
                    let end = parse_rfc3339(end).unwrap_or(now);
                    self::age(Some(start), end)
                }
                (Some(start), None) => self::age(Some(start), now),
                _ => String::new(),
            };
            vec![
                name,
                state.into(),
                format!("{succeeded}/{completions}").into(),
                duration.into(),
                age,
            ]
        }
        ("batch", "CronJob") => vec![
            name,
            str_of(&spec["schedule"]).to_string().into(),
            none_if_empty(str_of(&spec["timeZone"]).to_string()),
            spec["suspend"]
                .as_bool()
                .unwrap_or(false)
                .to_string()
                .into(),
            status["active"].as_array().map_or(0, |a| a.len()).into(),
            match status["lastScheduleTime"].as_str() {
                Some(t) => self::age(Some(t), now).into(),
                None => "<none>".into(),
            },
            age,
        ],
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole")
        | ("apiextensions.k8s.io", "CustomResourceDefinition") => vec![
            name,
            str_of(&obj["metadata"]["creationTimestamp"])
                .to_string()
                .into(),
        ],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            let subjects = |kind: &str| -> Value {
                let names: Vec<String> = obj["subjects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["kind"] == kind)
                    .map(|s| match s["namespace"].as_str() {
                        Some(ns) if kind == "ServiceAccount" => {
                            format!("{ns}/{}", str_of(&s["name"]))
                        }
                        _ => str_of(&s["name"]).to_string(),
                    })
                    .collect();
                names.join(", ").into()
            };
            vec![
                name,
                format!(
                    "{}/{}",
                    str_of(&obj["roleRef"]["kind"]),
                    str_of(&obj["roleRef"]["name"])
                )
                .into(),
                age,
                subjects("User"),
                subjects("Group"),
                subjects("ServiceAccount"),
            ]
        }
        ("coordination.k8s.io", "Lease") => vec![
            name,
            none_if_empty(str_of(&spec["holderIdentity"]).to_string()),
            age,
        ],
        ("discovery.k8s.io", "EndpointSlice") => {
            let ports: Vec<String> = obj["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| int_of(&p["port"]).to_string())
                .collect();
            let addrs: Vec<&str> = obj["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["addresses"].as_array().into_iter().flatten().map(str_of))
                .collect();
            vec![
                name,
                str_of(&obj["addressType"]).to_string().into(),
                none_if_empty(ports.join(",")),
                none_if_empty(addrs.join(",")),
                age,
            ]
        }
        _ => vec![name, age],
    }
}

/// The Table's column definitions for a kind: the built-in columns, or for a CRD's kind its
/// Name column then its additionalPrinterColumns (an Age column when it declares none, as
/// upstream).
pub fn column_definitions(kind: &Kind) -> Vec<Value> {
    let def = |name: &str, ty: &str, format: &str, description: &str, priority: i64| serde_json::json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority});
    match super::custom::of(kind) {
        Some(served) => std::iter::once(def(NAME.name, "string", "name", NAME.description, 0))
            .chain(
                printer_columns(served.version())
                    .iter()
                    .map(|c| def(&c.name, &c.ty, &c.format, &c.description, c.priority)),
            )
            .collect(),
        None => columns(kind)
            .iter()
            .map(|c| def(c.name, c.r#type, c.format, c.description, c.priority.into()))
            .collect(),
    }
}

/// A row's cells for [`column_definitions`]; `now` in seconds since the epoch. A CRD's date
/// columns read as ages, as upstream's server prints them.
pub fn row_cells(kind: &Kind, obj: &Value, now: i64) -> Vec<Value> {
    let Some(served) = super::custom::of(kind) else {
        return cells(kind, obj, now);
    };
    let columns = printer_columns(served.version());
    let values = super::crd::printer_cells(&columns, obj);
    std::iter::once(obj["metadata"]["name"].clone())
        .chain(
            columns
                .iter()
                .zip(values)
                .map(|(c, v)| match (c.ty.as_str(), v) {
                    ("date", Value::String(t)) => age(Some(&t), now).into(),
                    (_, v) => v,
                }),
        )
        .collect()
}

/// A CRD version's printer columns, or the Age column upstream gives a CRD that has none.
fn printer_columns(v: &super::crd::Version) -> Vec<super::crd::Column> {
    if !v.columns.is_empty() {
        return v.columns.clone();
    }
    vec![super::crd::Column {
        name: AGE.name.into(),
        ty: "date".into(),
        format: String::new(),
        description: AGE.description.into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    }]
}

/// kubectl's short age: `45s`, `3m12s`, `5h`, `12d` (upstream's HumanDuration, shortened).
pub fn age(created: Option<&str>, now: i64) -> String {
    let Some(t) = created.and_then(parse_rfc3339) else {
        return "<unknown>".into();
    };
    let s = (now - t).max(0);
    match s {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s if s < 8 * 86400 => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now = 1_000_000;
        let at = |ago: i64| {
            time::OffsetDateTime::from_unix_timestamp(now - ago)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        assert_eq!(age(Some(&at(5)), now), "5s");
        assert_eq!(age(Some(&at(200)), now), "3m20s");
        assert_eq!(age(Some(&at(3600)), now), "60m");
        assert_eq!(age(Some(&at(5 * 3600 + 120)), now), "5h2m");
        assert_eq!(age(Some(&at(30 * 3600)), now), "30h");
        assert_eq!(age(Some(&at(3 * 86400)), now), "3d0h");
        assert_eq!(age(Some(&at(20 * 86400)), now), "20d");
        assert_eq!(age(None, now), "<unknown>");
    }

    #[test]
    fn pod_columns_read_as_kubectls_printer_derives_them() {
        let now = 1_000_000;
        let five_ago = time::OffsetDateTime::from_unix_timestamp(now - 5)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let summary = |v: serde_json::Value| {
            let s = pod_summary(&v, now);
            (format!("{}/{}", s.ready, s.total), s.reason, s.restarts)
        };
        let init = serde_json::json!({
            "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending",
                "initContainerStatuses": [{"name": "i", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}],
                "containerStatuses": [{"name": "c", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}});
        assert_eq!(summary(init), ("0/1".into(), "Init:0/1".into(), "0".into()));
        let init_crash = serde_json::json!({
            "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "c"}]},
            "status": {"phase": "Pending",
                "initContainerStatuses": [{"name": "i", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": five_ago}}}]}});
        assert_eq!(
            summary(init_crash),
            (
                "0/1".into(),
                "Init:CrashLoopBackOff".into(),
                "2 (5s ago)".into()
            )
        );
        let crash = serde_json::json!({
            "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "finishedAt": five_ago}}}]}});
        assert_eq!(
            summary(crash),
            ("1/2".into(), "CrashLoopBackOff".into(), "1 (5s ago)".into())
        );
        let done = serde_json::json!({
            "metadata": {"deletionTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [
                {"name": "c", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        assert_eq!(
            summary(done),
            ("0/1".into(), "Completed".into(), "0".into()),
            "a finished pod is not Terminating"
        );
        let deleting = serde_json::json!({"metadata": {"deletionTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}});
        assert_eq!(summary(deleting).1, "Terminating");
    }

    fn kind(group: &str, k: &str) -> &'static Kind {
        super::super::KINDS
            .iter()
            .find(|x| x.group == group && x.kind == k)
            .unwrap()
    }

    #[test]
    fn pod_cells_read_like_kubectl_get_pods() {
        let pod = serde_json::json!({
            "metadata": {"name": "web-1"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "127.244.0.5", "containerStatuses": [
                {"ready": true, "restartCount": 1, "state": {"running": {}}},
                {"ready": false, "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ]}
        });
        let c = cells(kind("", "Pod"), &pod, 0);
        assert_eq!(
            &c[..4],
            &[
                "web-1".into(),
                "1/2".into(),
                "CrashLoopBackOff".into(),
                "3".into()
            ] as &[Value]
        );
        assert_eq!(c[5], "127.244.0.5");
        assert_eq!(c[6], "n1");
        let mut gone = pod.clone();
        gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
        assert_eq!(cells(kind("", "Pod"), &gone, 0)[2], "Terminating");
    }

    #[test]
    fn node_service_and_deployment_cells() {
        let node = serde_json::json!({
            "metadata": {"name": "n1", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.33.0"}}
        });
        let c = cells(kind("", "Node"), &node, 0);
        assert_eq!(
            &c[1..3],
            &["Ready,SchedulingDisabled".into(), "control-plane".into()] as &[Value]
        );
        assert_eq!(c[4], "v1.33.0");
        let svc = serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"type": "NodePort", "clusterIP": "127.96.0.10", "ports": [{"port": 80, "nodePort": 30080}], "selector": {"app": "web"}}
        });
        let c = cells(kind("", "Service"), &svc, 0);
        assert_eq!(
            &c[1..5],
            &[
                "NodePort".into(),
                "127.96.0.10".into(),
                "<none>".into(),
                "80:30080/TCP".into()
            ] as &[Value]
        );
        assert_eq!(c[6], "app=web");
        let deploy = serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        let c = cells(kind("apps", "Deployment"), &deploy, 0);
        assert_eq!(&c[1..4], &["2/3".into(), 3.into(), 2.into()] as &[Value]);
        assert_eq!(
            &c[5..],
            &["nginx".into(), "nginx:1.27".into(), "app=web".into()] as &[Value]
        );
    }

    #[test]
    fn every_kind_has_as_many_cells_as_columns() {
        for k in super::super::KINDS {
            let obj = serde_json::json!({"metadata": {"name": "x"}});
            assert_eq!(columns(k).len(), cells(k, &obj, 0).len(), "{}", k.kind);
        }
    }
}
