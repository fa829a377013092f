//! kube-rs, a client nobody here wrote, against the builtin apiserver: its watcher (list,
//! watch, re-watch, relist after 410) and paged lists.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api as KubeApi, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;

use crate::apiserver::Api;
use crate::util::{self, ok, runtime, stdout};

async fn client(api: &Api) -> kube::Client {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(api.tc.data.join("kubeconfig/admin.kubeconfig"))
            .unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn configmap(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>()},
        "data": {"v": "1"},
    }))
    .unwrap()
}

/// A short description of a watcher event, for assertions.
fn describe(e: &watcher::Event<ConfigMap>) -> String {
    let name = |c: &ConfigMap| c.metadata.name.clone().unwrap_or_default();
    match e {
        watcher::Event::Init => "Init".into(),
        watcher::Event::InitApply(c) => format!("InitApply {}", name(c)),
        watcher::Event::InitDone => "InitDone".into(),
        watcher::Event::Apply(c) => format!(
            "Apply {} v={}",
            name(c),
            c.data
                .as_ref()
                .and_then(|d| d.get("v"))
                .cloned()
                .unwrap_or_default()
        ),
        watcher::Event::Delete(c) => format!("Delete {}", name(c)),
    }
}

#[test]
fn kube_rs_watcher_sees_changes_in_order_and_relists_after_410() {
    if !util::require(
        "etcdctl",
        "kube_rs_watcher_sees_changes_in_order_and_relists_after_410",
    ) {
        return;
    }
    watcher_in_order_and_relist(&Api::start());
}

#[test]
fn kube_rs_watcher_relists_after_410_on_debians_etcd() {
    let test = "kube_rs_watcher_relists_after_410_on_debians_etcd";
    if !util::require("etcdctl", test) || !util::require("etcd", test) {
        return;
    }
    watcher_in_order_and_relist(&Api::start_on(true));
}

fn watcher_in_order_and_relist(api: &Api) {
    runtime().block_on(async {
        let client = client(api).await;
        let cms: KubeApi<ConfigMap> = KubeApi::namespaced(client, "default");
        cms.create(
            &PostParams::default(),
            &configmap("before", &[("watched", "yes")]),
        )
        .await
        .unwrap();

        // A short server-side timeout makes the watcher watch again from the last revision
        // it saw; the label keeps the other objects' events from moving that revision on.
        let config = watcher::Config::default().labels("watched=yes").timeout(2);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let stream = watcher(cms.clone(), config);
        let watching = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(e) = stream.next().await {
                let line = match e {
                    Ok(e) => describe(&e),
                    Err(err) => format!("error {err}"),
                };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let next = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>| {
            let mut got = Vec::new();
            while let Ok(l) = rx.try_recv() {
                got.push(l);
            }
            got
        };
        let until = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>, want: &str| {
            let mut seen = Vec::new();
            let found = tokio::time::timeout(Duration::from_secs(20), async {
                while let Some(l) = rx.recv().await {
                    seen.push(l.clone());
                    if l == want {
                        return;
                    }
                }
            })
            .await;
            assert!(found.is_ok(), "waited for {want:?}, saw {seen:?}");
            seen
        };

        let seen = until(&mut rx, "InitDone").await;
        assert_eq!(seen, ["Init", "InitApply before", "InitDone"]);

        cms.create(
            &PostParams::default(),
            &configmap("web", &[("watched", "yes")]),
        )
        .await
        .unwrap();
        let patch = serde_json::json!({"data": {"v": "2"}});
        cms.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        cms.delete("web", &DeleteParams::default()).await.unwrap();
        let seen = until(&mut rx, "Delete web").await;
        assert_eq!(seen, ["Apply web v=1", "Apply web v=2", "Delete web"]);

        // Push the watcher's revision out of the watch cache's memory and out of etcd: its
        // next watch gets 410 Expired, and the watcher lists again.
        for i in 0..1100 {
            cms.create(
                &PostParams::default(),
                &configmap(&format!("noise-{i}"), &[]),
            )
            .await
            .unwrap();
        }
        let rev = stdout(&ok(
            api.tc.etcdctl(&["get", "x", "-w", "json"]),
            "etcdctl get",
        ));
        let rev: serde_json::Value = serde_json::from_str(&rev).unwrap();
        let rev = rev["header"]["revision"].as_i64().unwrap();
        ok(
            api.tc.etcdctl(&["compaction", &rev.to_string()]),
            "etcdctl compaction",
        );
        let _ = next(&mut rx);
        let seen = until(&mut rx, "InitDone").await;
        assert!(
            seen.ends_with(&["Init".into(), "InitApply before".into(), "InitDone".into()]),
            "a relist after 410: {seen:?}"
        );
        cms.create(
            &PostParams::default(),
            &configmap("after", &[("watched", "yes")]),
        )
        .await
        .unwrap();
        until(&mut rx, "Apply after v=1").await;
        watching.abort();
    });
}

#[test]
fn kube_rs_pages_through_a_list_with_limit_and_continue() {
    paged_lists(&Api::start());
}

#[test]
fn kube_rs_pages_through_a_list_on_debians_etcd() {
    if !util::require("etcd", "kube_rs_pages_through_a_list_on_debians_etcd") {
        return;
    }
    paged_lists(&Api::start_on(true));
}

fn paged_lists(api: &Api) {
    runtime().block_on(async {
        let client = client(api).await;
        let cms: KubeApi<ConfigMap> = KubeApi::namespaced(client, "default");
        for i in 0..25 {
            let labels: &[(&str, &str)] = if i % 2 == 0 { &[("even", "yes")] } else { &[] };
            cms.create(
                &PostParams::default(),
                &configmap(&format!("cm-{i:02}"), labels),
            )
            .await
            .unwrap();
        }
        let mut names = Vec::new();
        let mut pages = 0;
        let mut params = ListParams::default().limit(10);
        loop {
            let page = cms.list(&params).await.unwrap();
            pages += 1;
            if pages == 1 {
                assert_eq!(page.metadata.remaining_item_count, Some(15));
            }
            names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => params = params.continue_token(&token),
                _ => break,
            }
        }
        let want: Vec<String> = (0..25).map(|i| format!("cm-{i:02}")).collect();
        assert_eq!(names, want);
        assert_eq!(pages, 3);

        // With a selector every page but the last is full, and nothing is skipped.
        let mut even = Vec::new();
        let mut params = ListParams::default().labels("even=yes").limit(5);
        loop {
            let page = cms.list(&params).await.unwrap();
            even.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => {
                    assert_eq!(page.items.len(), 5);
                    params = params.continue_token(&token);
                }
                _ => break,
            }
        }
        let want: Vec<String> = (0..25).step_by(2).map(|i| format!("cm-{i:02}")).collect();
        assert_eq!(even, want);

        // A page list is one snapshot: what is created meanwhile is not in its later pages.
        let first = cms.list(&ListParams::default().limit(20)).await.unwrap();
        cms.create(&PostParams::default(), &configmap("cm-99", &[]))
            .await
            .unwrap();
        let token = first.metadata.continue_.clone().unwrap();
        let rest = cms
            .list(&ListParams::default().limit(20).continue_token(&token))
            .await
            .unwrap();
        assert_eq!(first.items.len() + rest.items.len(), 25);
        assert_eq!(
            rest.metadata.resource_version,
            first.metadata.resource_version
        );
    });
}

/// kube-rs's server-side apply, as controllers use it: create by apply, fields owned per
/// manager, a field dropped from the configuration removed, conflicts refused until forced.
#[test]
fn kube_rs_server_side_apply() {
    if !util::require("kubectl", "kube_rs_server_side_apply") {
        return;
    }
    let api = Api::start();
    runtime().block_on(async {
        let cms: KubeApi<ConfigMap> = KubeApi::namespaced(client(&api).await, "default");
        let cm = |data: serde_json::Value| {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "ssa"}, "data": data})
        };
        let mine = PatchParams::apply("kwb-test");
        let made = cms
            .patch(
                "ssa",
                &mine,
                &Patch::Apply(cm(serde_json::json!({"a": "1", "b": "2"}))),
            )
            .await
            .unwrap();
        assert_eq!(made.data.unwrap().len(), 2);
        let mf = made.metadata.managed_fields.unwrap();
        assert_eq!(mf[0].manager.as_deref(), Some("kwb-test"));
        assert_eq!(mf[0].operation.as_deref(), Some("Apply"));

        // b is no longer applied: removed.
        let after = cms
            .patch(
                "ssa",
                &mine,
                &Patch::Apply(cm(serde_json::json!({"a": "1"}))),
            )
            .await
            .unwrap();
        assert_eq!(
            after.data.unwrap().keys().cloned().collect::<Vec<_>>(),
            ["a"]
        );

        // Another manager changing a is a conflict, until it forces.
        let other = PatchParams::apply("other");
        let err = cms
            .patch(
                "ssa",
                &other,
                &Patch::Apply(cm(serde_json::json!({"a": "9"}))),
            )
            .await
            .unwrap_err();
        match err {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 409);
                assert!(
                    s.message.contains("conflict with \"kwb-test\""),
                    "{}",
                    s.message
                );
            }
            other => panic!("expected a 409, got {other:?}"),
        }
        let forced = cms
            .patch(
                "ssa",
                &other.force(),
                &Patch::Apply(cm(serde_json::json!({"a": "9"}))),
            )
            .await
            .unwrap();
        assert_eq!(forced.data.unwrap()["a"], "9");
    });
}
