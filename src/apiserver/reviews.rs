//! Questions clients ask the server, answered and never stored: SelfSubjectReview (`kubectl
//! auth whoami`), TokenReview, Self/SubjectAccessReview and SelfSubjectRulesReview (`kubectl
//! auth can-i`), and TokenRequest (`kubectl create token`, the kubelet's projected tokens).
//! The access reviews ask the authorizer ([`super::authz`]) the request's own question.

use serde_json::{Value, json};

use super::Server;
use super::authn::User;
use super::status::ApiError;
use super::tokens::Subject;
use super::{authz, rbac};
use crate::kinds::{self, Kind};

/// The answer to a review the user POSTed.
pub async fn answer(
    server: &Server,
    kind: &Kind,
    user: &User,
    mut review: Value,
) -> Result<Value, ApiError> {
    review["apiVersion"] = kind.api_version().into();
    review["kind"] = kind.kind.into();
    if !review["metadata"].is_object() {
        review["metadata"] = json!({});
    }
    review["metadata"]["creationTimestamp"] = Value::Null;
    review["status"] = match kind.kind {
        "SelfSubjectReview" => json!({"userInfo": user.user_info()}),
        "TokenReview" => token_review(server, &review["spec"]).await,
        "SelfSubjectAccessReview" | "SubjectAccessReview" => {
            let asked = if kind.kind == "SubjectAccessReview" {
                authz::review_user(&review["spec"])
            } else {
                user.clone()
            };
            let attrs = authz::review_attributes(&asked, &review["spec"]);
            let d = server.authz.authorize(server, &attrs).await;
            let mut status = json!({"allowed": d.allowed});
            if !d.reason.is_empty() {
                status["reason"] = d.reason.into();
            }
            status
        }
        "SelfSubjectRulesReview" => {
            let ns = review["spec"]["namespace"].as_str().unwrap_or("");
            let (resource, non_resource) = rbac::rules_for(&server.authz.policy(), user, Some(ns));
            json!({
                "resourceRules": resource,
                "nonResourceRules": non_resource,
                "incomplete": false,
            })
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "{other} is not a review this server answers"
            )));
        }
    };
    Ok(review)
}

async fn token_review(server: &Server, spec: &Value) -> Value {
    let token = spec["token"].as_str().unwrap_or("");
    match authenticate_token(server, token).await {
        Ok(user) => json!({
            "authenticated": true,
            "user": user.user_info(),
            "audiences": server.tokens.audiences,
        }),
        Err(e) => json!({"authenticated": false, "error": e}),
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The user a bearer token speaks for: genuine, current, and its service account (and the pod
/// it is bound to) still there with the same uid, as upstream checks.
pub async fn authenticate_token(server: &Server, token: &str) -> Result<User, String> {
    let subject = server
        .tokens
        .verify(token, now())
        .map_err(|e| e.to_string())?;
    let sa_kind = kinds::find("", "v1", "serviceaccounts").expect("serviceaccounts are served");
    let sa = server
        .storage
        .get(sa_kind, Some(&subject.namespace), &subject.service_account)
        .await
        .map_err(|e| e.message)?
        .ok_or_else(|| format!("service account {} has been deleted", subject.username()))?;
    if !subject.uid.is_empty() && sa["metadata"]["uid"].as_str() != Some(subject.uid.as_str()) {
        return Err(format!(
            "service account {} has been deleted and recreated",
            subject.username()
        ));
    }
    if let Some((pod, uid)) = &subject.pod {
        let pod_kind = kinds::find("", "v1", "pods").expect("pods are served");
        let live = server
            .storage
            .get(pod_kind, Some(&subject.namespace), pod)
            .await
            .map_err(|e| e.message)?;
        if live.as_ref().and_then(|p| p["metadata"]["uid"].as_str()) != Some(uid.as_str()) {
            return Err(format!("the pod {pod} this token is bound to is gone"));
        }
    }
    Ok(User::from_token(&subject))
}

/// The kind of `serviceaccounts/NAME/token` (a subresource, not a served resource), for the
/// details of its errors.
const TOKEN_REQUEST: Kind = Kind {
    group: "authentication.k8s.io",
    version: "v1",
    kind: "TokenRequest",
    resource: "token",
    singular: "token",
    short_names: &[],
    namespaced: true,
    categories: &[],
};

/// `POST …/serviceaccounts/NAME/token`: a TokenRequest answered with a signed token.
pub async fn token_request(
    server: &Server,
    ns: &str,
    name: &str,
    mut request: Value,
) -> Result<Value, ApiError> {
    let sa_kind = kinds::find("", "v1", "serviceaccounts").expect("serviceaccounts are served");
    let sa = server
        .storage
        .get(sa_kind, Some(ns), name)
        .await?
        .ok_or_else(|| ApiError::not_found(sa_kind, name))?;
    let spec = &request["spec"];
    let seconds = spec["expirationSeconds"].as_i64().unwrap_or(3600);
    let invalid = |field: &str, msg: String| {
        ApiError::invalid(&TOKEN_REQUEST, name, vec![(field.to_string(), msg)])
    };
    if seconds < 600 {
        return Err(invalid(
            "spec.expirationSeconds",
            format!("Invalid value: {seconds}: may not specify a duration less than 10 minutes"),
        ));
    }
    if seconds > 1 << 32 {
        return Err(invalid(
            "spec.expirationSeconds",
            format!(
                "Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"
            ),
        ));
    }
    let audiences: Vec<String> = spec["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let bound = &spec["boundObjectRef"];
    let pod = match bound["kind"].as_str() {
        None | Some("") => None,
        Some("Pod") => {
            let pod_name = bound["name"].as_str().unwrap_or("");
            let pod_kind = kinds::find("", "v1", "pods").expect("pods are served");
            let pod = server
                .storage
                .get(pod_kind, Some(ns), pod_name)
                .await?
                .ok_or_else(|| ApiError::not_found(pod_kind, pod_name))?;
            let uid = pod["metadata"]["uid"].as_str().unwrap_or("").to_string();
            Some((pod_name.to_string(), uid))
        }
        Some(other) => {
            return Err(invalid(
                "spec.boundObjectRef.kind",
                format!("Unsupported value: {other:?}: supported values: \"Pod\""),
            ));
        }
    };
    let subject = Subject {
        namespace: ns.to_string(),
        service_account: name.to_string(),
        uid: sa["metadata"]["uid"].as_str().unwrap_or("").to_string(),
        pod,
    };
    let issued = now();
    let token = server
        .tokens
        .issue(&subject, &audiences, issued, seconds)
        .ok_or_else(|| {
            ApiError::internal(
                "this apiserver has no --service-account-signing-key-file, so it cannot issue tokens",
            )
        })?;
    let expires = time::OffsetDateTime::from_unix_timestamp(issued + seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    request["apiVersion"] = "authentication.k8s.io/v1".into();
    request["kind"] = "TokenRequest".into();
    request["metadata"] = json!({"name": name, "namespace": ns, "creationTimestamp": null});
    request["spec"]["expirationSeconds"] = seconds.into();
    if audiences.is_empty() {
        request["spec"]["audiences"] = json!(server.tokens.audiences);
    }
    request["status"] = json!({"token": token, "expirationTimestamp": expires});
    Ok(request)
}
