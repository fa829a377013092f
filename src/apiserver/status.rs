//! metav1.Status errors, built in one place, worded as upstream words them so kubectl prints
//! `Error from server (NotFound): configmaps "x" not found` exactly as for a real cluster.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::kinds::Kind;

#[derive(Debug)]
pub struct ApiError {
    pub code: StatusCode,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: StatusCode, reason: &'static str, message: String) -> ApiError {
        ApiError {
            code,
            reason,
            message,
            details: None,
        }
    }

    fn with_details(mut self, kind: &Kind, name: &str) -> ApiError {
        let mut d = json!({"name": name, "kind": kind.resource});
        if !kind.group.is_empty() {
            d["group"] = kind.group.into();
        }
        self.details = Some(d);
        self
    }

    pub fn not_found(kind: &Kind, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{} \"{name}\" not found", kind.qualified_resource()),
        )
        .with_details(kind, name)
    }

    pub fn already_exists(kind: &Kind, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", kind.qualified_resource()),
        )
        .with_details(kind, name)
    }

    pub fn conflict(kind: &Kind, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                kind.qualified_resource()
            ),
        )
        .with_details(kind, name)
    }

    /// 413: the body is larger than the server takes.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("the request body is larger than the {limit} bytes this server accepts"),
        )
    }

    /// 403: the request is understood and refused (admission).
    pub fn forbidden(message: String) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }

    /// 429: try again later (an eviction a disruption budget forbids now).
    pub fn too_many_requests(message: String) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", message)
    }

    /// 409 with a reason of its own (failed preconditions, a pod already bound).
    pub fn conflict_with(kind: &Kind, name: &str, why: String) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                kind.qualified_resource()
            ),
        )
        .with_details(kind, name)
    }

    /// 422 with causes: kubectl prints `The <Kind> "<name>" is invalid: <field>: <message>`.
    pub fn invalid(kind: &Kind, name: &str, causes: Vec<(String, String)>) -> ApiError {
        let text: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!("{} \"{name}\" is invalid: {}", kind.kind, text.join(", ")),
        );
        let mut d = json!({
            "name": name,
            "kind": kind.kind,
            "causes": causes.iter().map(|(f, m)| json!({"reason": "FieldValueInvalid", "message": m, "field": f})).collect::<Vec<_>>(),
        });
        if !kind.group.is_empty() {
            d["group"] = kind.group.into();
        }
        e.details = Some(d);
        e
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message.into())
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized".into(),
        )
    }

    /// What upstream answers for a path it does not serve.
    pub fn no_route() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource".into(),
        )
    }

    /// 410 Gone: a resourceVersion or continue token older than what is kept.
    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::GONE, "Expired", message.into())
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".into(),
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> ApiError {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"
            ),
        )
    }

    /// A PATCH whose Content-Type is none of the four patch types.
    pub fn unsupported_patch(content_type: &str, strategic: bool) -> ApiError {
        // Custom objects have no strategic merge keys: upstream leaves that type out for them.
        let smp = if strategic {
            ", application/strategic-merge-patch+json"
        } else {
            ""
        };
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml{smp} (got {content_type:?})"
            ),
        )
    }

    /// 409 for a server-side apply that would change fields other managers own; kubectl
    /// prints the message and its advice to use --force-conflicts.
    pub fn apply_conflicts(
        kind: &Kind,
        name: &str,
        conflicts: &[super::apply::Conflict],
    ) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::CONFLICT,
            "Conflict",
            super::apply::conflict_message(conflicts),
        )
        .with_details(kind, name);
        if let Some(d) = e.details.as_mut() {
            d["causes"] = conflicts
                .iter()
                .map(|c| {
                    json!({
                        "reason": "FieldManagerConflict",
                        "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                        "field": c.field,
                    })
                })
                .collect();
        }
        e
    }

    /// A JSON patch that cannot apply (a failed test, a missing path).
    pub fn unprocessable_patch(message: String) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    pub fn to_json(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.code,
            [("content-type", "application/json")],
            self.to_json().to_string(),
        )
            .into_response()
    }
}
