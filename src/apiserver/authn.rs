//! Who is asking: the client certificate's subject (CN = user, O = groups), as upstream's
//! x509 authenticator reads it, or a service-account bearer token ([`super::tokens`]).
//! Requests with neither are anonymous, and refused.

use rustls::pki_types::CertificateDer;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
    /// The service account's uid, for token users.
    pub uid: String,
    /// Upstream's extra attributes (the pod a token is bound to).
    pub extra: Vec<(String, String)>,
}

impl User {
    /// The user of a verified service-account token.
    pub fn from_token(s: &super::tokens::Subject) -> User {
        let mut extra = Vec::new();
        if let Some((name, uid)) = &s.pod {
            extra.push(("authentication.kubernetes.io/pod-name".into(), name.clone()));
            extra.push(("authentication.kubernetes.io/pod-uid".into(), uid.clone()));
        }
        User {
            name: s.username(),
            groups: s.groups(),
            uid: s.uid.clone(),
            extra,
        }
    }

    /// As a UserInfo (SelfSubjectReview, TokenReview).
    pub fn user_info(&self) -> serde_json::Value {
        let mut info = serde_json::json!({"username": self.name, "groups": self.groups});
        if !self.uid.is_empty() {
            info["uid"] = self.uid.clone().into();
        }
        if !self.extra.is_empty() {
            let extra: serde_json::Map<String, serde_json::Value> = self
                .extra
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!([v])))
                .collect();
            info["extra"] = extra.into();
        }
        info
    }
}

/// The user a verified client certificate names; None when it names nobody.
pub fn user_from_cert(cert: &CertificateDer<'_>) -> Option<User> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let subject = parsed.subject();
    let name = subject
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_string();
    let mut groups: Vec<String> = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(str::to_string))
        .collect();
    // Every authenticated user is in system:authenticated, as upstream adds it.
    groups.push("system:authenticated".into());
    Some(User {
        name,
        groups,
        ..Default::default()
    })
}
