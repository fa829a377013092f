//! Integration tests: real processes, Debian's etcd and etcdctl, the kwb binary, and tmux.
//! One test binary, a module per area.

mod apiserver;
mod browse;
mod controllers;
mod crds;
mod etcd;
mod etcd_builtin;
mod headless;
mod kube_client;
mod kubelet;
mod logs;
mod patches;
mod rbac;
mod supervisor;
mod tui_tmux;
mod util;
mod workshop;
