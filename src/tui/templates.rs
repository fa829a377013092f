//! Starting points for new objects (`a` on a list, `:new NAME`): files in templates/, built
//! into the binary. They name no namespace, so they go to the browser's.

/// Name, the resource plural it fits, text.
const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "deployment",
        "deployments",
        include_str!("../../templates/deployment.yaml"),
    ),
    (
        "service",
        "services",
        include_str!("../../templates/service.yaml"),
    ),
    (
        "configmap",
        "configmaps",
        include_str!("../../templates/configmap.yaml"),
    ),
    (
        "secret",
        "secrets",
        include_str!("../../templates/secret.yaml"),
    ),
    ("pod", "pods", include_str!("../../templates/pod.yaml")),
    ("job", "jobs", include_str!("../../templates/job.yaml")),
    (
        "cronjob",
        "cronjobs",
        include_str!("../../templates/cronjob.yaml"),
    ),
    ("blank", "", include_str!("../../templates/blank.yaml")),
];

/// The template called `name` (or a kind's word for it: `deploy`, `Deployment`, `cm`).
pub fn named(name: &str) -> Option<(&'static str, &'static str)> {
    let name = name.to_lowercase();
    let alias = match name.as_str() {
        "deploy" | "deployments" => "deployment",
        "svc" | "services" => "service",
        "cm" | "configmaps" => "configmap",
        "secrets" => "secret",
        "po" | "pods" => "pod",
        "jobs" => "job",
        "cj" | "cronjobs" => "cronjob",
        other => other,
    };
    TEMPLATES
        .iter()
        .find(|(n, _, _)| *n == alias)
        .map(|(n, _, t)| (*n, *t))
}

/// The template for a list of `plural`, else the blank one.
pub fn for_resource(plural: &str) -> (&'static str, &'static str) {
    let (name, _, text) = TEMPLATES
        .iter()
        .find(|(_, p, _)| *p == plural)
        .unwrap_or(&TEMPLATES[TEMPLATES.len() - 1]);
    (name, text)
}

/// `deployment, service, …` for the message that lists them.
pub fn names() -> String {
    TEMPLATES
        .iter()
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_one_valid_document_without_a_namespace() {
        for (name, _, text) in TEMPLATES {
            let docs = crate::cluster::apply::documents(text)
                .unwrap_or_else(|e| panic!("template {name}: {}", e.say()));
            assert_eq!(docs.len(), 1, "{name}");
            assert!(docs[0].value["metadata"]["namespace"].is_null(), "{name}");
        }
        assert_eq!(named("Deploy").unwrap().0, "deployment");
        assert_eq!(for_resource("nodes").0, "blank");
        assert_eq!(for_resource("services").0, "service");
    }
}
