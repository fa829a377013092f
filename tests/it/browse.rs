//! The TUI's view of a cluster (kwb::cluster) against the builtin apiserver: discovery
//! resolves what users type after `:`, and a resource's Table list stays live through a watch.

use std::time::Duration;

use kwb::cluster::resources::Catalog;
use kwb::cluster::table::{self, Table, Update};

use crate::apiserver::Api;
use crate::util::{ok, wait_until};

#[test]
fn discovery_resolves_words_and_a_table_list_follows_changes_live() {
    let api = Api::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let kubeconfig = api.tc.data.join("kubeconfig/admin.kubeconfig");
    let client = rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    });
    let catalog = rt.block_on(Catalog::discover(&client)).unwrap();
    for (word, qualified) in [
        ("po", "pods"),
        ("deploy", "deployments.apps"),
        ("nodes", "nodes"),
        ("Service", "services"),
        ("cm", "configmaps"),
        ("crd", "customresourcedefinitions.apiextensions.k8s.io"),
    ] {
        assert_eq!(
            catalog.resolve(word).map(|r| r.qualified()).as_deref(),
            Some(qualified),
            "{word}"
        );
    }

    let configmaps = catalog.resolve("cm").unwrap().clone();
    let (tx, rx) = std::sync::mpsc::channel::<Update>();
    rt.spawn(table::watch(
        client.clone(),
        configmaps,
        Some("default".into()),
        table::Query::default(),
        move |u| tx.send(u).is_ok(),
    ));
    let mut t = Table::default();
    let drain = |t: &mut Table| {
        while let Ok(u) = rx.try_recv() {
            t.apply(u);
        }
    };
    wait_until("the first list", Duration::from_secs(10), || {
        drain(&mut t);
        t.loaded.then_some(())
    });
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Name", "Data", "Age"], "kubectl get's columns");
    ok(
        api.kubectl(&["create", "configmap", "live", "--from-literal=a=1"]),
        "create",
    );
    wait_until("the new row", Duration::from_secs(10), || {
        drain(&mut t);
        t.rows().iter().find(|r| r.name == "live").map(|r| {
            assert_eq!(r.cells[..2], ["live".to_string(), "1".to_string()]);
        })
    });
    ok(
        api.kubectl(&[
            "create",
            "configmap",
            "live2",
            "--from-literal=a=1",
            "--from-literal=b=2",
        ]),
        "create another",
    );
    ok(api.kubectl(&["delete", "configmap", "live"]), "delete");
    wait_until("the rows follow", Duration::from_secs(10), || {
        drain(&mut t);
        let names: Vec<&str> = t.rows().iter().map(|r| r.name.as_str()).collect();
        (!names.contains(&"live") && names.contains(&"live2")).then_some(())
    });
    let live2 = t.rows().iter().find(|r| r.name == "live2").unwrap();
    assert_eq!(live2.cells[1], "2");
}
