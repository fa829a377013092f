//! Who is asking: the client certificate's subject (CN = user, O = groups), as upstream's
//! x509 authenticator reads it. Requests without one are anonymous, and refused.

use rustls::pki_types::CertificateDer;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
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
    Some(User { name, groups })
}
