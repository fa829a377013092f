//! How each component is started: program, arguments, generated config files, health probe.
//!
//! Every component runs with one of two backends. `builtin` is kwb's own implementation, started
//! as `<kwb> component <name> [flags]`; `binary` is the upstream program (`etcd`,
//! `kube-apiserver`, …) from `components.<key>.path` or PATH. A builtin takes the upstream flag
//! *names* for the subset of settings it implements and serves the same health endpoints, so the
//! two backends are configured and probed alike: switching one component's backend changes the
//! program, never the cluster's wiring (ports, certificates, CIDRs), and the user's extra `args`,
//! appended last so they win, mean the same thing with either backend.

use std::ffi::OsStr;
use std::fmt::Display;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::component::{Component, Unit};
use crate::config::{Backend, Cidr, ComponentConfig, yaml_key};
use crate::local::LocalCluster;

/// Everything the supervisor needs to start one component once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaunchPlan {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Files to write (mode 0600) before the process starts, e.g. the kubelet's config.
    pub files: Vec<(PathBuf, String)>,
    /// Working directory for the process.
    pub cwd: PathBuf,
    pub probe: Probe,
}

/// A health probe: what "ready" means for this component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Ready when GET `path` answers 2xx (and, for etcd's /health, `"health":"true"`).
    Http {
        addr: SocketAddr,
        path: String,
        /// `None` means plain HTTP.
        tls: Option<ProbeTls>,
    },
    /// Ready when a TCP connection is accepted.
    Tcp { addr: SocketAddr },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeTls {
    /// CA that must have signed the server's certificate; `None` accepts any server certificate
    /// (components that make their own self-signed serving certificate, like upstream
    /// kube-scheduler). Only ever used against loopback.
    pub ca: Option<PathBuf>,
    /// Client certificate and key presented to the server.
    pub client: Option<(PathBuf, PathBuf)>,
    /// Name checked against the server certificate.
    pub server_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(
        "{binary} not found on PATH: install it, set components.{key}.path in kwb.yaml, or use backend: builtin"
    )]
    BinaryNotFound {
        binary: &'static str,
        key: &'static str,
    },
    #[error(
        "components.{key}.path {}: {reason}: fix the path in kwb.yaml, or remove it to look up {binary} on PATH",
        .path.display()
    )]
    BadBinaryPath {
        key: &'static str,
        path: PathBuf,
        reason: &'static str,
        binary: &'static str,
    },
    #[error(
        "data dir {} is not valid UTF-8, which component flags cannot carry: set dataDir in kwb.yaml to a UTF-8 path",
        .0.display()
    )]
    NonUtf8DataDir(PathBuf),
    #[error("the config has no node to run {component} on: set nodes: 1 in kwb.yaml")]
    NoNode { component: Component },
    #[error(
        "service CIDR {cidr} has no 10th address for the cluster DNS service: set serviceCidr in kwb.yaml to a /28 or larger range"
    )]
    ServiceCidrTooSmall { cidr: Cidr },
    #[error("cannot generate the {component} config file: {message}")]
    GeneratedConfig {
        component: Component,
        message: String,
    },
}

/// The issuer of service-account tokens: the in-cluster name of the apiserver, as kubeadm uses.
const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// Everything listens on loopback: a local cluster must not be reachable from the network.
const LOOPBACK: &str = "127.0.0.1";
/// The taint kubeadm gives control-plane nodes (`controlPlaneTaint: true`).
const CONTROL_PLANE_TAINT: &str = "node-role.kubernetes.io/control-plane:NoSchedule";
/// The name probes check serving certificates against; pki.rs gives loopback serving certs this
/// SAN, so the probe does not depend on the port or on IP SANs.
const PROBE_SERVER_NAME: &str = "localhost";
const CONTAINERD_SOCKET: &str = "unix:///run/containerd/containerd.sock";

/// How `component` starts in `cluster`, per its configured backend. Pure apart from the PATH
/// lookup for the binary backend: nothing is written or started.
pub fn plan(unit: impl Into<Unit>, cluster: &LocalCluster) -> Result<LaunchPlan, LaunchError> {
    plan_with_path(unit, cluster, std::env::var_os("PATH").as_deref())
}

/// [`plan`] with the PATH to search given, so tests do not depend on the machine's PATH.
fn plan_with_path(
    unit: impl Into<Unit>,
    cluster: &LocalCluster,
    path_env: Option<&OsStr>,
) -> Result<LaunchPlan, LaunchError> {
    let unit = unit.into();
    let component = unit.component;
    // Flags carry paths as strings; a lossy conversion would point components at wrong files.
    if cluster.data.root().to_str().is_none() {
        return Err(LaunchError::NonUtf8DataDir(cluster.data.root().to_owned()));
    }
    let cc = cluster.config.components.get(component);
    let ctx = Ctx { cluster, unit };
    let (program, mut args, files) = match cc.backend {
        Backend::Builtin => {
            let mut args = vec!["component".to_string(), component.name().to_string()];
            args.extend(ctx.flags(component, Backend::Builtin)?.0);
            (cluster.kwb_exe.clone(), args, Vec::new())
        }
        Backend::Binary => {
            let program = find_binary(component, cc, path_env)?;
            let (args, files) = ctx.flags(component, Backend::Binary)?;
            (program, args, files)
        }
    };
    // Last, so that a repeated flag overrides ours (the last occurrence wins in both Go's pflag
    // and the builtins' parser).
    args.extend(cc.args.iter().cloned());
    Ok(LaunchPlan {
        program,
        args,
        files,
        cwd: cluster.data.root().to_owned(),
        probe: ctx.probe(component),
    })
}

/// The upstream program: the configured path, else `upstream_binary()` searched on PATH.
fn find_binary(
    component: Component,
    cc: &ComponentConfig,
    path_env: Option<&OsStr>,
) -> Result<PathBuf, LaunchError> {
    let key = yaml_key(component);
    let binary = component.upstream_binary();
    let Some(configured) = &cc.path else {
        return search_path(OsStr::new(binary), path_env)
            .ok_or(LaunchError::BinaryNotFound { binary, key });
    };
    let bad = |reason| LaunchError::BadBinaryPath {
        key,
        path: configured.clone(),
        reason,
        binary,
    };
    // A bare name is looked up on PATH, as a shell would.
    if configured.components().count() == 1 && !configured.has_root() {
        return search_path(configured.as_os_str(), path_env)
            .ok_or_else(|| bad("not found on PATH"));
    }
    // A relative path is made absolute here: the child runs in the data dir, and whether its
    // program is resolved against the old or the new working directory is platform-dependent.
    let program = if configured.is_relative() {
        std::env::current_dir()
            .map(|d| d.join(configured))
            .unwrap_or_else(|_| configured.clone())
    } else {
        configured.clone()
    };
    match std::fs::metadata(&program) {
        Err(_) => Err(bad("no such file")),
        Ok(m) if !m.is_file() => Err(bad("not a file")),
        Ok(_) if !is_executable(&program) => Err(bad("not executable")),
        Ok(_) => Ok(program),
    }
}

/// The first executable file `name` in the directories of `path_env`. Empty entries (meaning
/// the current directory) are skipped: the supervisor's working directory is incidental.
fn search_path(name: &OsStr, path_env: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path_env?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `--name=value`, the one form every Go flag parser and the builtins accept.
fn flag(name: &str, value: impl Display) -> String {
    format!("--{name}={value}")
}

/// Files to write before start.
type Files = Vec<(PathBuf, String)>;

struct Ctx<'a> {
    cluster: &'a LocalCluster,
    /// The unit being planned: which node's kubelet, for the kubelet.
    unit: Unit,
}

impl Ctx<'_> {
    /// A port of `c`; the kubelet's are those of the planned unit's node.
    fn port(&self, c: Component, name: &str) -> u16 {
        if c == self.unit.component {
            let key = self.cluster.config.unit_key(self.unit);
            self.cluster.ports.get_key(&key, name)
        } else {
            self.cluster.ports.get(c, name)
        }
    }

    fn loopback(&self, c: Component, port_name: &str) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port(c, port_name)))
    }

    fn pki_path(&self, file: &str) -> PathBuf {
        self.cluster.data.pki_dir().join(file)
    }

    /// A PKI file as a flag value. The data dir was checked to be UTF-8, so this is exact.
    fn pki(&self, file: &str) -> String {
        self.pki_path(file).display().to_string()
    }

    fn kubeconfig(&self, user: &str) -> String {
        self.cluster.data.kubeconfig(user).display().to_string()
    }

    fn state_dir(&self, c: Component) -> String {
        self.cluster.data.state_dir(c).display().to_string()
    }

    /// The planned unit's own state dir (each node's kubelet has one).
    fn unit_state_dir(&self) -> PathBuf {
        let key = self.cluster.config.unit_key(self.unit);
        self.cluster.data.unit_state_dir(&key)
    }

    /// The planned unit's node; the proxy and the control plane are the first node's.
    fn node(&self, component: Component) -> Result<String, LaunchError> {
        if u32::from(self.unit.node) >= self.cluster.config.nodes {
            return Err(LaunchError::NoNode { component });
        }
        Ok(self.cluster.config.node_name(self.unit.node))
    }

    /// The flags (and, for upstream kubelet and kube-proxy, config files) of `component`. Each
    /// component's `shared` flags are the ones builtin and upstream take alike; the rest are
    /// what only one backend needs.
    fn flags(
        &self,
        component: Component,
        backend: Backend,
    ) -> Result<(Vec<String>, Files), LaunchError> {
        let config = &self.cluster.config;
        let upstream = backend == Backend::Binary;
        let mut files = Files::new();
        let args = match component {
            // Identical for both backends: the builtin etcd is a drop-in for the real one.
            Component::Etcd => self.etcd_flags(),
            Component::Apiserver => {
                let mut f = vec![
                    flag("secure-port", self.port(Component::Apiserver, "secure")),
                    flag("bind-address", LOOPBACK),
                    flag("etcd-servers", self.cluster.etcd_client_url()),
                    flag("etcd-cafile", self.pki("ca.crt")),
                    flag("etcd-certfile", self.pki("apiserver-etcd-client.crt")),
                    flag("etcd-keyfile", self.pki("apiserver-etcd-client.key")),
                    flag("tls-cert-file", self.pki("apiserver.crt")),
                    flag("tls-private-key-file", self.pki("apiserver.key")),
                    flag("client-ca-file", self.pki("ca.crt")),
                    flag("service-account-key-file", self.pki("sa.pub")),
                    flag("service-account-signing-key-file", self.pki("sa.key")),
                    flag("service-account-issuer", SERVICE_ACCOUNT_ISSUER),
                    flag("service-cluster-ip-range", config.service_cidr()),
                    flag(
                        "kubelet-client-certificate",
                        self.pki("apiserver-kubelet-client.crt"),
                    ),
                    flag(
                        "kubelet-client-key",
                        self.pki("apiserver-kubelet-client.key"),
                    ),
                    flag("authorization-mode", "Node,RBAC"),
                ];
                if upstream {
                    f.extend([
                        // Without it the apiserver looks for a default route to advertise, and
                        // fails to start on a machine that has none (offline laptops). Known
                        // cost: Endpoints validation rejects loopback addresses, so the
                        // `kubernetes` Service gets no endpoints (the apiserver logs this).
                        flag("advertise-address", LOOPBACK),
                        // Workshops run privileged pods (CNI, storage drivers).
                        flag("allow-privileged", true),
                    ]);
                }
                f
            }
            Component::ControllerManager => {
                let kubeconfig = self.kubeconfig("controller-manager");
                let mut f = vec![
                    flag("kubeconfig", &kubeconfig),
                    flag(
                        "secure-port",
                        self.port(Component::ControllerManager, "secure"),
                    ),
                    flag("bind-address", LOOPBACK),
                    flag("leader-elect", true),
                    flag("cluster-cidr", config.pod_cidr()),
                    flag("service-cluster-ip-range", config.service_cidr()),
                    flag("root-ca-file", self.pki("ca.crt")),
                    flag("service-account-private-key-file", self.pki("sa.key")),
                    flag("cluster-name", &config.name),
                    // Each controller acts with its own service account, as in kubeadm
                    // clusters, so RBAC errors name the controller.
                    flag("use-service-account-credentials", true),
                ];
                if upstream {
                    f.extend([
                        // Its own identity for delegated authn/authz of its secure port; without
                        // these it cannot check the probe's client certificate.
                        flag("authentication-kubeconfig", &kubeconfig),
                        flag("authorization-kubeconfig", &kubeconfig),
                        flag("cluster-signing-cert-file", self.pki("ca.crt")),
                        flag("cluster-signing-key-file", self.pki("ca.key")),
                        // The node gets its podCIDR from here (the upstream kubelet takes none).
                        flag("allocate-node-cidrs", true),
                        flag("controllers", "*,bootstrapsigner,tokencleaner"),
                    ]);
                }
                f
            }
            Component::Scheduler => {
                let kubeconfig = self.kubeconfig("scheduler");
                let mut f = vec![
                    flag("kubeconfig", &kubeconfig),
                    flag("secure-port", self.port(Component::Scheduler, "secure")),
                    flag("bind-address", LOOPBACK),
                    flag("leader-elect", true),
                ];
                if upstream {
                    f.extend([
                        flag("authentication-kubeconfig", &kubeconfig),
                        flag("authorization-kubeconfig", &kubeconfig),
                    ]);
                }
                f
            }
            Component::Kubelet => {
                let node = self.node(component)?;
                let mut f = vec![
                    flag("kubeconfig", self.kubeconfig(&format!("kubelet-{node}"))),
                    flag("hostname-override", &node),
                    flag("node-ip", LOOPBACK),
                    flag("root-dir", self.unit_state_dir().display()),
                ];
                if upstream {
                    // The upstream kubelet takes most settings only from its config file
                    // (the equivalent flags are deprecated); flags given too still win over it.
                    let path = self
                        .cluster
                        .data
                        .generated_config_dir()
                        .join(format!("kubelet-{node}.yaml"));
                    f.insert(0, flag("config", path.display()));
                    files.push((path, self.kubelet_config(&node)?));
                } else {
                    f.extend([
                        flag("port", self.port(Component::Kubelet, "server")),
                        flag("healthz-port", self.port(Component::Kubelet, "healthz")),
                        flag(
                            "tls-cert-file",
                            self.pki(&format!("kubelet-{node}-server.crt")),
                        ),
                        flag(
                            "tls-private-key-file",
                            self.pki(&format!("kubelet-{node}-server.key")),
                        ),
                        flag("client-ca-file", self.pki("ca.crt")),
                        // The builtin has no controller-manager dependency for its range: it
                        // takes the node's share of the pod CIDR directly.
                        flag("pod-cidr", self.node_pod_cidr(component)?),
                    ]);
                    // The first node is the control plane's, as kubeadm and kind label it;
                    // the workers carry no role, as in kind.
                    if self.unit.node == 0 {
                        f.push(flag(
                            "node-labels",
                            "node-role.kubernetes.io/control-plane=",
                        ));
                        if config.control_plane_taint {
                            f.push(flag("register-with-taints", CONTROL_PLANE_TAINT));
                        }
                    }
                    if config.runs_processes(self.unit.node) {
                        f.push("--process-runtime".to_string());
                    }
                    if let Some(rules) = &config.simulate {
                        let path = self
                            .cluster
                            .data
                            .generated_config_dir()
                            .join("simulate-rules.yaml");
                        let value = serde_json::to_value(rules).unwrap_or_default();
                        files.push((path.clone(), to_yaml(component, &value)?));
                        f.push(flag("simulate-rules", path.display()));
                    }
                }
                f
            }
            Component::Proxy => {
                let node = self.node(component)?;
                if upstream {
                    // kube-proxy ignores most flags once --config is given, so everything is in
                    // the file; --hostname-override is the one flag it still honours, given too
                    // so the node name shows in `ps`.
                    let path = self.cluster.data.generated_config_dir().join("proxy.yaml");
                    let f = vec![
                        flag("config", path.display()),
                        flag("hostname-override", &node),
                    ];
                    files.push((path, self.proxy_config(&node)?));
                    f
                } else {
                    vec![
                        flag("kubeconfig", self.kubeconfig("proxy")),
                        flag("hostname-override", &node),
                        flag(
                            "healthz-bind-address",
                            self.loopback(Component::Proxy, "healthz"),
                        ),
                        flag(
                            "metrics-bind-address",
                            self.loopback(Component::Proxy, "metrics"),
                        ),
                        flag("cluster-cidr", config.pod_cidr()),
                    ]
                }
            }
        };
        Ok((args, files))
    }

    /// Flags that work with etcd 3.4 (Debian's) and every later release.
    fn etcd_flags(&self) -> Vec<String> {
        let name = &self.cluster.config.name;
        let client = self.cluster.etcd_client_url();
        // Peer URLs stay plain HTTP on loopback: a one-member cluster never dials its peer URL,
        // so TLS there would only add certificates to manage.
        let peer = format!("http://{LOOPBACK}:{}", self.port(Component::Etcd, "peer"));
        vec![
            flag("name", name),
            flag("data-dir", self.state_dir(Component::Etcd)),
            flag("listen-client-urls", &client),
            flag("advertise-client-urls", &client),
            flag("listen-peer-urls", &peer),
            flag("initial-advertise-peer-urls", &peer),
            flag("initial-cluster", format!("{name}={peer}")),
            flag("cert-file", self.pki("etcd-server.crt")),
            flag("key-file", self.pki("etcd-server.key")),
            flag("trusted-ca-file", self.pki("ca.crt")),
            flag("client-cert-auth", true),
            // zap is the only logger from 3.5 on; 3.4 defaults to capnslog, so say it.
            flag("logger", "zap"),
            flag("log-outputs", "stderr"),
        ]
    }

    /// The planned node's share of the pod range.
    fn node_pod_cidr(&self, component: Component) -> Result<Cidr, LaunchError> {
        self.cluster
            .config
            .node_pod_cidr(u32::from(self.unit.node))
            .ok_or(LaunchError::NoNode { component })
    }

    /// The upstream kubelet's KubeletConfiguration.
    fn kubelet_config(&self, node: &str) -> Result<String, LaunchError> {
        let service_cidr = self.cluster.config.service_cidr();
        // Kubeadm's convention: the cluster DNS Service takes the 10th address of the range.
        let dns = service_cidr
            .nth(10)
            .ok_or(LaunchError::ServiceCidrTooSmall { cidr: service_cidr })?;
        let taints = if self.cluster.config.control_plane_taint && self.unit.node == 0 {
            json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
        } else {
            json!([])
        };
        let value = json!({
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "registerWithTaints": taints,
            "kind": "KubeletConfiguration",
            // Only clients with a cluster-CA cert (the apiserver) or a token the apiserver
            // vouches for may use the kubelet API; it runs pods as root.
            "authentication": {
                "x509": { "clientCAFile": self.pki("ca.crt") },
                "webhook": { "enabled": true },
                "anonymous": { "enabled": false },
            },
            "authorization": { "mode": "Webhook" },
            "address": LOOPBACK,
            "port": self.port(Component::Kubelet, "server"),
            "healthzBindAddress": LOOPBACK,
            "healthzPort": self.port(Component::Kubelet, "healthz"),
            // Serving cert from kwb's CA, so the apiserver can verify the kubelet.
            "tlsCertFile": self.pki(&format!("kubelet-{node}-server.crt")),
            "tlsPrivateKeyFile": self.pki(&format!("kubelet-{node}-server.key")),
            // containerd's default on systemd hosts; the two must agree.
            "cgroupDriver": "systemd",
            "clusterDomain": "cluster.local",
            "clusterDNS": [dns.to_string()],
            "containerRuntimeEndpoint": CONTAINERD_SOCKET,
            "staticPodPath": self.unit_state_dir().join("manifests").display().to_string(),
            // Laptops have swap.
            "failSwapOn": false,
            // kwb owns the PKI: no CSR-based rotation or bootstrap.
            "rotateCertificates": false,
            "serverTLSBootstrap": false,
        });
        to_yaml(Component::Kubelet, &value)
    }

    /// The upstream kube-proxy's KubeProxyConfiguration.
    fn proxy_config(&self, node: &str) -> Result<String, LaunchError> {
        let value = json!({
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": { "kubeconfig": self.kubeconfig("proxy") },
            "hostnameOverride": node,
            "clusterCIDR": self.cluster.config.pod_cidr().to_string(),
            "mode": "iptables",
            "bindAddress": LOOPBACK,
            "healthzBindAddress": self.loopback(Component::Proxy, "healthz").to_string(),
            "metricsBindAddress": self.loopback(Component::Proxy, "metrics").to_string(),
        });
        to_yaml(Component::Proxy, &value)
    }

    /// Same for both backends: builtins serve the endpoints the upstream programs do.
    fn probe(&self, component: Component) -> Probe {
        let tls = |ca: bool, client: &str| {
            Some(ProbeTls {
                ca: ca.then(|| self.pki_path("ca.crt")),
                client: Some((
                    self.pki_path(&format!("{client}.crt")),
                    self.pki_path(&format!("{client}.key")),
                )),
                server_name: PROBE_SERVER_NAME.to_string(),
            })
        };
        let http = |port_name: &str, path: &str, tls| Probe::Http {
            addr: self.loopback(component, port_name),
            path: path.to_string(),
            tls,
        };
        match component {
            // etcd demands a client certificate on its client port, /health included.
            Component::Etcd => http("client", "/health", tls(true, "apiserver-etcd-client")),
            // /readyz, not /livez: ready means etcd is reachable and the post-start hooks ran.
            Component::Apiserver => http("secure", "/readyz", tls(true, "admin")),
            // Upstream makes a self-signed serving cert for its secure port: no CA to check.
            Component::ControllerManager => {
                http("secure", "/healthz", tls(false, "controller-manager"))
            }
            Component::Scheduler => http("secure", "/healthz", tls(false, "scheduler")),
            Component::Kubelet => http("healthz", "/healthz", None),
            Component::Proxy => http("healthz", "/healthz", None),
        }
    }
}

fn to_yaml(component: Component, value: &serde_json::Value) -> Result<String, LaunchError> {
    let body = serde_saphyr::to_string(value).map_err(|e| LaunchError::GeneratedConfig {
        component,
        message: e.to_string(),
    })?;
    Ok(format!(
        "# Generated by kwb on every start of {component}; edits are lost.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClusterConfig;
    use crate::layout::DataDir;
    use crate::ports::Ports;
    use std::collections::BTreeSet;

    fn cluster(config: ClusterConfig) -> (tempfile::TempDir, LocalCluster) {
        let dir = tempfile::tempdir().unwrap();
        let mut next = 30000;
        let ports = Ports::resolve(&config, &Ports::default(), &mut |_| true, &mut || {
            next += 1;
            Ok(next)
        })
        .unwrap();
        let cluster = LocalCluster {
            config,
            data: DataDir::new(dir.path()),
            ports,
            kwb_exe: "/opt/kwb".into(),
        };
        (dir, cluster)
    }

    /// An executable stand-in for an upstream program.
    fn fake_program(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// A config with every component on `backend`; binaries get fake programs in `bin`.
    fn config_with(backend: Backend, bin: &Path) -> ClusterConfig {
        let mut config = ClusterConfig {
            name: "demo".into(),
            ..ClusterConfig::default()
        };
        for c in Component::ALL {
            let cc = config.components.get_mut(c);
            cc.backend = backend;
            if backend == Backend::Binary {
                cc.path = Some(fake_program(bin, c.upstream_binary()));
            }
        }
        config
    }

    /// The flags we expect, as `--name=value`, per component and backend.
    fn expected(c: Component, backend: Backend, cl: &LocalCluster) -> Vec<String> {
        let pki = |f: &str| cl.data.pki_dir().join(f).display().to_string();
        let kc = |u: &str| cl.data.kubeconfig(u).display().to_string();
        let port = |c, n| cl.ports.get(c, n);
        let upstream = backend == Backend::Binary;
        let svc = cl.config.service_cidr().to_string();
        let pods = cl.config.pod_cidr().to_string();
        let node = "demo-control-plane";
        match c {
            Component::Etcd => {
                let (client, peer) = (port(c, "client"), port(c, "peer"));
                vec![
                    "--name=demo".into(),
                    format!("--data-dir={}", cl.data.state_dir(c).display()),
                    format!("--listen-client-urls=https://127.0.0.1:{client}"),
                    format!("--advertise-client-urls=https://127.0.0.1:{client}"),
                    format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
                    format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
                    format!("--initial-cluster=demo=http://127.0.0.1:{peer}"),
                    format!("--cert-file={}", pki("etcd-server.crt")),
                    format!("--key-file={}", pki("etcd-server.key")),
                    format!("--trusted-ca-file={}", pki("ca.crt")),
                    "--client-cert-auth=true".into(),
                    "--logger=zap".into(),
                    "--log-outputs=stderr".into(),
                ]
            }
            Component::Apiserver => {
                let mut v = vec![
                    format!("--secure-port={}", port(c, "secure")),
                    "--bind-address=127.0.0.1".into(),
                    format!(
                        "--etcd-servers=https://127.0.0.1:{}",
                        port(Component::Etcd, "client")
                    ),
                    format!("--etcd-cafile={}", pki("ca.crt")),
                    format!("--etcd-certfile={}", pki("apiserver-etcd-client.crt")),
                    format!("--etcd-keyfile={}", pki("apiserver-etcd-client.key")),
                    format!("--tls-cert-file={}", pki("apiserver.crt")),
                    format!("--tls-private-key-file={}", pki("apiserver.key")),
                    format!("--client-ca-file={}", pki("ca.crt")),
                    format!("--service-account-key-file={}", pki("sa.pub")),
                    format!("--service-account-signing-key-file={}", pki("sa.key")),
                    "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                    format!("--service-cluster-ip-range={svc}"),
                    format!(
                        "--kubelet-client-certificate={}",
                        pki("apiserver-kubelet-client.crt")
                    ),
                    format!(
                        "--kubelet-client-key={}",
                        pki("apiserver-kubelet-client.key")
                    ),
                    "--authorization-mode=Node,RBAC".into(),
                ];
                if upstream {
                    v.extend([
                        "--advertise-address=127.0.0.1".into(),
                        "--allow-privileged=true".into(),
                    ]);
                }
                v
            }
            Component::ControllerManager => {
                let k = kc("controller-manager");
                let mut v = vec![
                    format!("--kubeconfig={k}"),
                    format!("--secure-port={}", port(c, "secure")),
                    "--bind-address=127.0.0.1".into(),
                    "--leader-elect=true".into(),
                    format!("--cluster-cidr={pods}"),
                    format!("--service-cluster-ip-range={svc}"),
                    format!("--root-ca-file={}", pki("ca.crt")),
                    format!("--service-account-private-key-file={}", pki("sa.key")),
                    "--cluster-name=demo".into(),
                    "--use-service-account-credentials=true".into(),
                ];
                if upstream {
                    v.extend([
                        format!("--authentication-kubeconfig={k}"),
                        format!("--authorization-kubeconfig={k}"),
                        format!("--cluster-signing-cert-file={}", pki("ca.crt")),
                        format!("--cluster-signing-key-file={}", pki("ca.key")),
                        "--allocate-node-cidrs=true".into(),
                        "--controllers=*,bootstrapsigner,tokencleaner".into(),
                    ]);
                }
                v
            }
            Component::Scheduler => {
                let k = kc("scheduler");
                let mut v = vec![
                    format!("--kubeconfig={k}"),
                    format!("--secure-port={}", port(c, "secure")),
                    "--bind-address=127.0.0.1".into(),
                    "--leader-elect=true".into(),
                ];
                if upstream {
                    v.extend([
                        format!("--authentication-kubeconfig={k}"),
                        format!("--authorization-kubeconfig={k}"),
                    ]);
                }
                v
            }
            Component::Kubelet => {
                let mut v = vec![
                    format!("--kubeconfig={}", kc("kubelet-demo-control-plane")),
                    format!("--hostname-override={node}"),
                    "--node-ip=127.0.0.1".into(),
                    format!("--root-dir={}", cl.data.state_dir(c).display()),
                ];
                if upstream {
                    v.push(format!(
                        "--config={}",
                        cl.data
                            .generated_config_dir()
                            .join("kubelet-demo-control-plane.yaml")
                            .display()
                    ));
                } else {
                    v.extend([
                        format!("--port={}", port(c, "server")),
                        format!("--healthz-port={}", port(c, "healthz")),
                        format!(
                            "--tls-cert-file={}",
                            pki("kubelet-demo-control-plane-server.crt")
                        ),
                        format!(
                            "--tls-private-key-file={}",
                            pki("kubelet-demo-control-plane-server.key")
                        ),
                        format!("--client-ca-file={}", pki("ca.crt")),
                        // Default builtin pod CIDR 127.244.0.0/16.
                        "--pod-cidr=127.244.0.0/24".into(),
                        "--node-labels=node-role.kubernetes.io/control-plane=".into(),
                    ]);
                }
                v
            }
            Component::Proxy => {
                if upstream {
                    vec![
                        format!(
                            "--config={}",
                            cl.data.generated_config_dir().join("proxy.yaml").display()
                        ),
                        format!("--hostname-override={node}"),
                    ]
                } else {
                    vec![
                        format!("--kubeconfig={}", kc("proxy")),
                        format!("--hostname-override={node}"),
                        format!("--healthz-bind-address=127.0.0.1:{}", port(c, "healthz")),
                        format!("--metrics-bind-address=127.0.0.1:{}", port(c, "metrics")),
                        format!("--cluster-cidr={pods}"),
                    ]
                }
            }
        }
    }

    #[test]
    fn flags_per_component_and_backend() {
        let bin = tempfile::tempdir().unwrap();
        for backend in [Backend::Builtin, Backend::Binary] {
            let (_dir, cl) = cluster(config_with(backend, bin.path()));
            for c in Component::ALL {
                let plan = plan_with_path(c, &cl, None).unwrap();
                assert_eq!(plan.cwd, cl.data.root(), "{c} {backend}");
                let flags = match backend {
                    Backend::Builtin => {
                        assert_eq!(plan.program, PathBuf::from("/opt/kwb"));
                        assert_eq!(
                            plan.args[..2],
                            ["component".to_string(), c.name().to_string()]
                        );
                        assert!(plan.files.is_empty(), "{c}: builtins take flags, not files");
                        &plan.args[2..]
                    }
                    Backend::Binary => {
                        // The configured path, not a PATH lookup (PATH is None here).
                        assert_eq!(plan.program, bin.path().join(c.upstream_binary()));
                        &plan.args[..]
                    }
                };
                // Exactly these, no more: a flag too many is a flag the program may reject.
                let got: BTreeSet<&String> = flags.iter().collect();
                let want = expected(c, backend, &cl);
                let want: BTreeSet<&String> = want.iter().collect();
                assert_eq!(got, want, "{c} {backend}");
                assert_eq!(got.len(), flags.len(), "{c} {backend}: a flag is repeated");
            }
        }
    }

    #[test]
    fn builtin_etcd_takes_exactly_the_upstream_flags() {
        let bin = tempfile::tempdir().unwrap();
        let (_d1, builtin) = cluster(config_with(Backend::Builtin, bin.path()));
        let (_d2, mut binary) = cluster(config_with(Backend::Binary, bin.path()));
        binary.data = builtin.data.clone();
        let b = plan_with_path(Component::Etcd, &builtin, None).unwrap();
        let u = plan_with_path(Component::Etcd, &binary, None).unwrap();
        assert_eq!(b.args[2..], u.args[..]);
    }

    #[test]
    fn user_args_come_last_with_both_backends() {
        let bin = tempfile::tempdir().unwrap();
        for backend in [Backend::Builtin, Backend::Binary] {
            let mut config = config_with(backend, bin.path());
            for c in Component::ALL {
                config.components.get_mut(c).args = vec!["--v=4".into(), "--secure-port=1".into()];
            }
            let (_dir, cl) = cluster(config);
            for c in Component::ALL {
                let args = plan_with_path(c, &cl, None).unwrap().args;
                assert_eq!(
                    args[args.len() - 2..],
                    ["--v=4".to_string(), "--secure-port=1".to_string()],
                    "{c} {backend}"
                );
            }
        }
    }

    #[test]
    fn a_missing_binary_says_what_to_do() {
        let empty = tempfile::tempdir().unwrap();
        let mut config = ClusterConfig::default();
        for c in Component::ALL {
            config.components.get_mut(c).backend = Backend::Binary;
        }
        let (_dir, cl) = cluster(config);
        let cases = [
            (Component::Etcd, "etcd", "etcd"),
            (Component::Apiserver, "kube-apiserver", "apiserver"),
            (
                Component::ControllerManager,
                "kube-controller-manager",
                "controllerManager",
            ),
            (Component::Scheduler, "kube-scheduler", "scheduler"),
            (Component::Kubelet, "kubelet", "kubelet"),
            (Component::Proxy, "kube-proxy", "proxy"),
        ];
        for path_env in [None, Some(empty.path().as_os_str())] {
            for (c, binary, key) in cases {
                let err = plan_with_path(c, &cl, path_env).unwrap_err();
                assert!(matches!(err, LaunchError::BinaryNotFound { .. }), "{err:?}");
                assert_eq!(
                    err.to_string(),
                    format!(
                        "{binary} not found on PATH: install it, set components.{key}.path in kwb.yaml, or use backend: builtin"
                    )
                );
            }
        }
    }

    #[test]
    fn path_lookup_skips_non_executables_and_takes_the_first_match() {
        use std::os::unix::fs::PermissionsExt;
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let not_exec = a.path().join("etcd");
        std::fs::write(&not_exec, "").unwrap();
        std::fs::set_permissions(&not_exec, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::create_dir(b.path().join("kube-apiserver")).unwrap(); // a dir is no program
        let etcd = fake_program(b.path(), "etcd");
        fake_program(c.path(), "etcd");
        let path_env = std::env::join_paths([a.path(), b.path(), c.path()]).unwrap();
        let mut config = ClusterConfig::default();
        config.components.etcd.backend = Backend::Binary;
        config.components.apiserver.backend = Backend::Binary;
        let (_dir, cl) = cluster(config);
        assert_eq!(
            plan_with_path(Component::Etcd, &cl, Some(&path_env))
                .unwrap()
                .program,
            etcd
        );
        assert!(matches!(
            plan_with_path(Component::Apiserver, &cl, Some(&path_env)),
            Err(LaunchError::BinaryNotFound { .. })
        ));
    }

    #[test]
    fn a_bad_configured_path_names_the_setting() {
        let bin = tempfile::tempdir().unwrap();
        let mut config = ClusterConfig::default();
        config.components.etcd.backend = Backend::Binary;
        let (_dir, mut cl) = cluster(config);
        let not_exec = bin.path().join("etcd-plain");
        std::fs::write(&not_exec, "").unwrap();
        for (path, reason) in [
            (bin.path().join("nope"), "no such file"),
            (bin.path().to_path_buf(), "not a file"),
            (not_exec, "not executable"),
            (PathBuf::from("etcd-nowhere"), "not found on PATH"),
        ] {
            cl.config.components.etcd.path = Some(path.clone());
            let err = plan_with_path(Component::Etcd, &cl, Some(bin.path().as_os_str()))
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                format!(
                    "components.etcd.path {}: {reason}: fix the path in kwb.yaml, or remove it to look up etcd on PATH",
                    path.display()
                )
            );
        }
        // A bare name is looked up on PATH.
        let etcd35 = fake_program(bin.path(), "etcd-3.5");
        cl.config.components.etcd.path = Some("etcd-3.5".into());
        let plan = plan_with_path(Component::Etcd, &cl, Some(bin.path().as_os_str())).unwrap();
        assert_eq!(plan.program, etcd35);
    }

    fn generated(cl: &LocalCluster, c: Component, file: &str) -> serde_json::Value {
        let plan = plan_with_path(c, cl, None).unwrap();
        assert_eq!(plan.files.len(), 1);
        let (path, text) = &plan.files[0];
        assert_eq!(*path, cl.data.generated_config_dir().join(file));
        assert!(plan.args.contains(&format!("--config={}", path.display())));
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}\n{text}"))
    }

    #[test]
    fn kubelet_config_file_parses_back() {
        let bin = tempfile::tempdir().unwrap();
        let (_dir, cl) = cluster(config_with(Backend::Binary, bin.path()));
        let v = generated(&cl, Component::Kubelet, "kubelet-demo-control-plane.yaml");
        let pki =
            |f: &str| serde_json::Value::from(cl.data.pki_dir().join(f).display().to_string());
        let port = |n| serde_json::Value::from(cl.ports.get(Component::Kubelet, n));
        assert_eq!(v["apiVersion"], "kubelet.config.k8s.io/v1beta1");
        assert_eq!(v["kind"], "KubeletConfiguration");
        assert_eq!(v["authentication"]["x509"]["clientCAFile"], pki("ca.crt"));
        assert_eq!(v["authentication"]["webhook"]["enabled"], true);
        assert_eq!(v["authentication"]["anonymous"]["enabled"], false);
        assert_eq!(v["authorization"]["mode"], "Webhook");
        assert_eq!(v["address"], "127.0.0.1");
        assert_eq!(v["port"], port("server"));
        assert_eq!(v["healthzBindAddress"], "127.0.0.1");
        assert_eq!(v["healthzPort"], port("healthz"));
        assert_eq!(
            v["tlsCertFile"],
            pki("kubelet-demo-control-plane-server.crt")
        );
        assert_eq!(
            v["tlsPrivateKeyFile"],
            pki("kubelet-demo-control-plane-server.key")
        );
        assert_eq!(v["cgroupDriver"], "systemd");
        assert_eq!(v["clusterDomain"], "cluster.local");
        // Binary apiserver: default service CIDR 10.96.0.0/12.
        assert_eq!(v["clusterDNS"], json!(["10.96.0.10"]));
        assert_eq!(
            v["containerRuntimeEndpoint"],
            "unix:///run/containerd/containerd.sock"
        );
        assert_eq!(
            v["staticPodPath"],
            cl.data
                .state_dir(Component::Kubelet)
                .join("manifests")
                .display()
                .to_string()
        );
        assert_eq!(v["failSwapOn"], false);
        assert_eq!(v["rotateCertificates"], false);
        assert_eq!(v["serverTLSBootstrap"], false);
    }

    #[test]
    fn proxy_config_file_parses_back() {
        let bin = tempfile::tempdir().unwrap();
        let (_dir, cl) = cluster(config_with(Backend::Binary, bin.path()));
        let v = generated(&cl, Component::Proxy, "proxy.yaml");
        let port = |n| cl.ports.get(Component::Proxy, n);
        assert_eq!(v["apiVersion"], "kubeproxy.config.k8s.io/v1alpha1");
        assert_eq!(v["kind"], "KubeProxyConfiguration");
        assert_eq!(
            v["clientConnection"]["kubeconfig"],
            cl.data.kubeconfig("proxy").display().to_string()
        );
        assert_eq!(v["hostnameOverride"], "demo-control-plane");
        assert_eq!(v["clusterCIDR"], "10.244.0.0/16");
        assert_eq!(v["mode"], "iptables");
        assert_eq!(v["bindAddress"], "127.0.0.1");
        assert_eq!(
            v["healthzBindAddress"],
            format!("127.0.0.1:{}", port("healthz"))
        );
        assert_eq!(
            v["metricsBindAddress"],
            format!("127.0.0.1:{}", port("metrics"))
        );
    }

    #[test]
    fn cidrs_follow_the_config() {
        let bin = tempfile::tempdir().unwrap();
        let mut config = config_with(Backend::Binary, bin.path());
        config.service_cidr = Some("10.0.0.0/29".parse().unwrap());
        let (_dir, cl) = cluster(config);
        let err = plan_with_path(Component::Kubelet, &cl, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("10.0.0.0/29") && err.contains("serviceCidr"),
            "{err}"
        );

        let mut config = config_with(Backend::Builtin, bin.path());
        config.pod_cidr = Some("10.50.0.0/20".parse().unwrap());
        config.control_plane_taint = true;
        let (_dir, cl) = cluster(config);
        let args = plan_with_path(Component::Kubelet, &cl, None).unwrap().args;
        assert!(
            args.contains(&"--pod-cidr=10.50.0.0/24".to_string()),
            "{args:?}"
        );
        assert!(
            args.contains(
                &"--register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule"
                    .to_string()
            ),
            "{args:?}"
        );
        let args = plan_with_path(Component::ControllerManager, &cl, None)
            .unwrap()
            .args;
        assert!(
            args.contains(&"--cluster-cidr=10.50.0.0/20".to_string()),
            "{args:?}"
        );
    }

    #[test]
    fn each_node_s_kubelet_has_its_own_name_range_ports_and_dir() {
        let bin = tempfile::tempdir().unwrap();
        let mut config = config_with(Backend::Builtin, bin.path());
        config.nodes = 3;
        config.control_plane_taint = true;
        config.process_runtime = vec!["demo-worker2".into()];
        let (_dir, cl) = cluster(config);
        let worker2 = Unit {
            component: Component::Kubelet,
            node: 2,
        };
        let args = plan_with_path(worker2, &cl, None).unwrap().args;
        let has = |a: &str| args.iter().any(|x| x == a);
        assert!(has("--hostname-override=demo-worker2"), "{args:?}");
        assert!(has("--pod-cidr=127.244.2.0/24"), "{args:?}");
        let port = cl.ports.get_key("kubelet-demo-worker2", "server");
        assert!(has(&format!("--port={port}")), "{args:?}");
        let root = cl.data.unit_state_dir("kubelet-demo-worker2");
        assert!(has(&format!("--root-dir={}", root.display())), "{args:?}");
        assert!(
            !args.iter().any(|a| a.contains("control-plane")),
            "a worker carries no control-plane label or taint: {args:?}"
        );
        assert!(has("--process-runtime"), "opted in by name: {args:?}");
        let first = plan_with_path(Component::Kubelet, &cl, None).unwrap().args;
        assert!(!first.iter().any(|a| a == "--process-runtime"), "{first:?}");
        let gone = Unit {
            component: Component::Kubelet,
            node: 3,
        };
        assert!(plan_with_path(gone, &cl, None).is_err());
    }

    #[test]
    fn probes_are_the_same_for_both_backends() {
        let bin = tempfile::tempdir().unwrap();
        let (_d1, builtin) = cluster(config_with(Backend::Builtin, bin.path()));
        let (_d2, mut binary) = cluster(config_with(Backend::Binary, bin.path()));
        binary.data = builtin.data.clone();
        let cl = &builtin;
        let pki = |f: &str| cl.data.pki_dir().join(f);
        let tls = |ca: bool, id: &str| {
            Some(ProbeTls {
                ca: ca.then(|| pki("ca.crt")),
                client: Some((pki(&format!("{id}.crt")), pki(&format!("{id}.key")))),
                server_name: "localhost".into(),
            })
        };
        let cases = [
            (
                Component::Etcd,
                "client",
                "/health",
                tls(true, "apiserver-etcd-client"),
            ),
            (
                Component::Apiserver,
                "secure",
                "/readyz",
                tls(true, "admin"),
            ),
            (
                Component::ControllerManager,
                "secure",
                "/healthz",
                tls(false, "controller-manager"),
            ),
            (
                Component::Scheduler,
                "secure",
                "/healthz",
                tls(false, "scheduler"),
            ),
            (Component::Kubelet, "healthz", "/healthz", None),
            (Component::Proxy, "healthz", "/healthz", None),
        ];
        for (c, port_name, path, tls) in cases {
            let want = Probe::Http {
                addr: SocketAddr::from(([127, 0, 0, 1], cl.ports.get(c, port_name))),
                path: path.into(),
                tls,
            };
            assert_eq!(
                plan_with_path(c, &builtin, None).unwrap().probe,
                want,
                "{c} builtin"
            );
            assert_eq!(
                plan_with_path(c, &binary, None).unwrap().probe,
                want,
                "{c} binary"
            );
        }
    }

    /// Debian's etcd 3.4 knows every flag we give etcd (newer releases only add flags).
    #[test]
    fn debian_etcd_accepts_our_flag_names() {
        let etcd = Path::new("/usr/bin/etcd");
        if !etcd.exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "/usr/bin/etcd is missing on CI: install Debian's etcd-server"
            );
            eprintln!("skipped: etcd not found at {}", etcd.display());
            return;
        }
        let out = std::process::Command::new(etcd)
            .arg("--help")
            .output()
            .unwrap();
        let help = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let known: BTreeSet<&str> = help
            .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-'))
            .filter(|w| w.starts_with("--"))
            .collect();
        assert!(
            known.contains("--data-dir"),
            "unexpected etcd --help output:\n{help}"
        );
        let mut config = ClusterConfig::default();
        config.components.etcd.backend = Backend::Binary;
        config.components.etcd.path = Some(etcd.into());
        let (_dir, cl) = cluster(config);
        let plan = plan(Component::Etcd, &cl).unwrap();
        assert_eq!(plan.program, etcd);
        for arg in &plan.args {
            let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
            assert!(known.contains(name), "etcd 3.4 has no {name}");
        }
    }

    #[test]
    fn no_node_and_non_utf8_data_dir_are_explained() {
        use std::os::unix::ffi::OsStrExt;
        let (_dir, mut cl) = cluster(ClusterConfig::default());
        cl.config.nodes = 0;
        let err = plan_with_path(Component::Kubelet, &cl, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("nodes: 1"), "{err}");
        cl.data = DataDir::new(Path::new(OsStr::from_bytes(b"/tmp/\xff")));
        let err = plan_with_path(Component::Etcd, &cl, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("dataDir"), "{err}");
    }
}
