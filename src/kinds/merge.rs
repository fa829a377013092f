//! How Kubernetes lists merge: which lists are maps keyed by some of their items' fields
//! (containers by name, ports by containerPort, …), which are sets of scalars, and which are
//! atomic (replaced whole). One table for the apiserver (managedFields now, strategic merge
//! patch and server-side apply next) and the TUI's editor.
//!
//! Lists are named by their field name and, where one name means different lists, by the
//! field that holds them (`ports` of a container vs of a Service).

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// Items are identified by these fields of theirs.
    Map(&'static [&'static str]),
    /// Scalars, each present or not.
    Set,
    /// Replaced as a whole.
    Atomic,
}

/// The merge behaviour of the list at `field`, held by an object at `parent` (the field
/// name one level up, "" at the top).
pub fn list_type(parent: &str, field: &str) -> ListType {
    use ListType::*;
    match (parent, field) {
        ("spec", "ports") | ("subsets", "ports") => Map(&["port", "protocol"]),
        (_, "ports") => Map(&["containerPort", "protocol"]),
        (_, "containers" | "initContainers" | "ephemeralContainers") => Map(&["name"]),
        (_, "env") => Map(&["name"]),
        (_, "volumes") => Map(&["name"]),
        (_, "volumeMounts") => Map(&["mountPath"]),
        (_, "volumeDevices") => Map(&["devicePath"]),
        (_, "imagePullSecrets") => Map(&["name"]),
        (_, "taints") => Map(&["key", "effect"]),
        (_, "conditions") => Map(&["type"]),
        (_, "ownerReferences") => Map(&["uid"]),
        (_, "hostAliases") => Map(&["ip"]),
        (_, "topologySpreadConstraints") => Map(&["topologyKey", "whenUnsatisfiable"]),
        (_, "resourceClaims") => Map(&["name"]),
        (_, "schedulingGates") => Map(&["name"]),
        (_, "finalizers") => Set,
        _ => Atomic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_merge_by_the_key_of_what_holds_them() {
        assert_eq!(
            list_type("spec", "ports"),
            ListType::Map(&["port", "protocol"])
        );
        assert_eq!(
            list_type("", "ports"),
            ListType::Map(&["containerPort", "protocol"])
        );
        assert_eq!(list_type("spec", "containers"), ListType::Map(&["name"]));
        assert_eq!(list_type("metadata", "finalizers"), ListType::Set);
        assert_eq!(list_type("", "command"), ListType::Atomic);
    }
}
