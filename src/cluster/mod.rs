//! The TUI's view of any cluster, builtin or attached, only through the Kubernetes API:
//! which resources it serves ([`resources`]) and their live lists as the server's Tables
//! ([`table`]), the columns `kubectl get` prints.

pub mod actions;
pub mod apply;
pub mod connect;
pub mod diff;
pub mod health;
pub mod logs;
pub mod object;
pub mod resources;
pub mod rollout;
pub mod table;
pub mod yamlpath;
