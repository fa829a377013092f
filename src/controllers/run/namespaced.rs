//! What every namespace gets from the controller-manager: a `default` ServiceAccount (the
//! serviceaccount controller) and the `kube-root-ca.crt` ConfigMap holding the cluster CA
//! (the root-ca-cert-publisher), so pods can trust the apiserver. Terminating namespaces get
//! nothing new.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};

pub const ROOT_CA: &str = "kube-root-ca.crt";

pub struct Controller {
    /// Writes as the serviceaccount controller.
    pub accounts_client: kube::Client,
    /// Writes as the root-ca-cert-publisher; None without --root-ca-file.
    pub publisher: Option<(kube::Client, String)>,
    pub namespaces: Store<Namespace>,
    pub accounts: Store<ServiceAccount>,
    pub configmaps: Store<ConfigMap>,
}

impl Controller {
    pub fn new(
        accounts_client: kube::Client,
        publisher: Option<(kube::Client, String)>,
        namespaces: Store<Namespace>,
        accounts: Store<ServiceAccount>,
        configmaps: Store<ConfigMap>,
    ) -> Controller {
        Controller {
            accounts_client,
            publisher,
            namespaces,
            accounts,
            configmaps,
        }
    }

    pub async fn pass_all(&mut self) -> Option<i64> {
        for ns in self.namespaces.state() {
            let name = ns.name_any();
            if ns.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let has_account = self
                .accounts
                .get(&ObjectRef::new("default").within(&name))
                .is_some();
            let ca_current = match &self.publisher {
                None => true,
                Some((_, ca)) => self
                    .configmaps
                    .get(&ObjectRef::new(ROOT_CA).within(&name))
                    .is_some_and(|cm| cm.data.as_ref().and_then(|d| d.get("ca.crt")) == Some(ca)),
            };
            if !has_account {
                self.create_account(&name).await;
            }
            if !ca_current {
                self.publish(&name).await;
            }
        }
        None
    }

    async fn create_account(&self, ns: &str) {
        let api: Api<ServiceAccount> = Api::namespaced(self.accounts_client.clone(), ns);
        let sa = ServiceAccount {
            metadata: ObjectMeta {
                name: Some("default".into()),
                namespace: Some(ns.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        match api.create(&PostParams::default(), &sa).await {
            Ok(_) => tracing::info!("created service account {ns}/default"),
            Err(e) if super::code(&e) == Some(409) => {}
            Err(e) => tracing::warn!("creating service account {ns}/default: {e}"),
        }
    }

    async fn publish(&self, ns: &str) {
        let Some((client, ca)) = &self.publisher else {
            return;
        };
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(ROOT_CA.into()),
                namespace: Some(ns.into()),
                annotations: Some(BTreeMap::from([(
                    "kubernetes.io/description".to_string(),
                    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.".to_string(),
                )])),
                ..Default::default()
            },
            data: Some(BTreeMap::from([("ca.crt".to_string(), ca.clone())])),
            ..Default::default()
        };
        let result = match self.configmaps.get(&ObjectRef::new(ROOT_CA).within(ns)) {
            Some(current) => {
                let mut updated = cm;
                updated.metadata.resource_version = current.resource_version();
                api.replace(ROOT_CA, &PostParams::default(), &updated).await
            }
            None => api.create(&PostParams::default(), &cm).await,
        };
        match result {
            Ok(_) => tracing::info!("published {ns}/{ROOT_CA}"),
            Err(e) if super::code(&e) == Some(409) => {}
            Err(e) => tracing::warn!("publishing {ns}/{ROOT_CA}: {e}"),
        }
    }
}

impl super::Pass for Controller {
    async fn pass(&mut self) -> Option<i64> {
        self.pass_all().await
    }
}
