//! kwb: a full-screen terminal workbench for Kubernetes with a builtin local control plane.
//!
//! - [`component`], [`config`], [`layout`], [`ports`], [`pki`], [`local`]: what a local cluster
//!   is, where its files live, and how it is made ready to run.
//! - [`launch`]: how each component starts (builtin or upstream binary) and how its health is probed.
//! - [`supervisor`]: runs the components as child processes, captures output, probes, restarts.
//! - [`control`]: the socket through which `kwb start|stop|status|down` reach a detached supervisor.
//! - [`tui`]: the full-screen interface.

pub mod agent;
pub mod apiserver;
pub mod cluster;
pub mod component;
pub mod config;
pub mod control;
pub mod controllers;
pub mod etcd;
pub mod headless;
pub mod host;
pub mod kinds;
pub mod kubelet;
pub mod launch;
pub mod layout;
pub mod local;
pub mod pki;
pub mod ports;
pub mod procstat;
pub mod proxy;
pub mod scheduler;
pub mod serve;
pub mod supervisor;
pub mod tlsclient;
pub mod tui;
