//! Cluster PKI: the CA, serving and client certificates, the service-account key pair and the
//! kubeconfigs of the control plane's clients, all kept in the data dir and reused across
//! restarts.
//!
//! [`ensure`] makes whatever is missing and keeps whatever is still right, so a restart does not
//! invalidate the kubeconfigs users already copied. Every key is ECDSA P-256.
//!
//! ```text
//! <data>/pki/                               0700; every .key 0600
//!   ca.crt ca.key                           cluster CA, CN "kwb-ca (<cluster>)", 10 years
//!   apiserver.crt/.key                      apiserver serving: localhost, kubernetes.default…, 127.0.0.1, service IP
//!   etcd-server.crt/.key                    etcd serving and peer: localhost, 127.0.0.1
//!   apiserver-etcd-client.crt/.key          CN kube-apiserver-etcd-client
//!   apiserver-kubelet-client.crt/.key       CN kube-apiserver-kubelet-client, O system:masters
//!   admin.crt/.key                          CN kubernetes-admin, O system:masters
//!   controller-manager.crt/.key             CN system:kube-controller-manager
//!   scheduler.crt/.key                      CN system:kube-scheduler
//!   proxy.crt/.key                          CN system:kube-proxy
//!   kubelet-<node>.crt/.key                 CN system:node:<node>, O system:nodes
//!   kubelet-<node>-server.crt/.key          kubelet serving: <node>, localhost, 127.0.0.1
//!   sa.key sa.pub                           service-account token signing key (PKCS#8, SPKI)
//! <data>/kubeconfig/<user>.kubeconfig       0600; admin, controller-manager, scheduler, proxy,
//!                                           kubelet-<node>
//! ```
//!
//! Leaf certificates live one year. A pair is regenerated when it is missing, unparsable, its key
//! does not match, it is not signed by the current CA, it expires within 30 days, or its subject,
//! SANs or usages differ from what the spec now asks for. A new CA means new leaves. The
//! service-account key is only replaced when missing or unparsable: replacing it would invalidate
//! every service-account token in etcd.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::layout::DataDir;

/// What the PKI must cover; derived from the cluster config and ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkiSpec {
    pub cluster_name: String,
    /// The apiserver URL written into every kubeconfig, e.g. `https://127.0.0.1:6443`.
    pub apiserver_url: String,
    /// First address of the service CIDR: a SAN of the apiserver serving cert.
    pub kubernetes_service_ip: Ipv4Addr,
    pub node_names: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error(
        "cannot create directory {}: {error}; check that the data dir is yours and its disk is writable",
        path.display()
    )]
    CreateDir { path: PathBuf, error: io::Error },
    #[error(
        "cannot read {}: {error}; check that the data dir is yours, or delete the file to have kwb make a new one",
        path.display()
    )]
    Read { path: PathBuf, error: io::Error },
    #[error(
        "cannot write {}: {error}; check that the data dir is yours and its disk is not full",
        path.display()
    )]
    Write { path: PathBuf, error: io::Error },
    #[error("cannot generate {what}: {error}; this is a bug in kwb, please report it")]
    Generate { what: String, error: rcgen::Error },
    #[error(
        "node name {name:?} cannot be used in certificates: node names must be lowercase DNS names \
         (a-z, 0-9, '-', '.'); fix the node names in the cluster config"
    )]
    InvalidNodeName { name: String },
    #[error(
        "user name {name:?} cannot be used: use a lowercase DNS name (a-z, 0-9, '-', '.'), e.g. \"demo\""
    )]
    InvalidUserName { name: String },
    #[error(
        "no usable cluster CA in {} ({reason}): set the cluster up with `kwb up`, which makes or renews it",
        path.display()
    )]
    NoCluster { path: PathBuf, reason: String },
}

/// What one [`ensure`] changed on disk; empty when everything was reused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PkiReport {
    /// Key material made anew, in the order it was made: identity names as in
    /// [`identity_files`] (`ca`, `apiserver`, `kubelet-<node>`…), or `sa` / `sa.pub`.
    pub regenerated: Vec<Regenerated>,
    /// Kubeconfig users whose file was written because its content changed.
    pub kubeconfigs_written: Vec<String>,
}

/// One identity made anew, and why: worth a log line, since it invalidates copies held elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Regenerated {
    pub name: String,
    pub reason: String,
}

impl PkiReport {
    pub fn is_empty(&self) -> bool {
        self.regenerated.is_empty() && self.kubeconfigs_written.is_empty()
    }

    pub fn regenerated_names(&self) -> Vec<&str> {
        self.regenerated.iter().map(|r| r.name.as_str()).collect()
    }
}

/// The (certificate, private key) paths of an identity, e.g. `apiserver-etcd-client`, `ca`.
pub fn identity_files(data: &DataDir, name: &str) -> (PathBuf, PathBuf) {
    let dir = data.pki_dir();
    (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    )
}

pub fn ca_cert_path(data: &DataDir) -> PathBuf {
    identity_files(data, CA).0
}

/// The service-account signing key (`sa.key`, PKCS#8) and its public half (`sa.pub`).
pub fn sa_key_paths(data: &DataDir) -> (PathBuf, PathBuf) {
    let dir = data.pki_dir();
    (dir.join("sa.key"), dir.join("sa.pub"))
}

/// Identity (and kubeconfig user) name of a node's kubelet as an apiserver client.
pub fn kubelet_client_identity(node: &str) -> String {
    format!("kubelet-{node}")
}

/// Identity name of a node's kubelet serving certificate.
pub fn kubelet_server_identity(node: &str) -> String {
    format!("kubelet-{node}-server")
}

/// The users [`ensure`] writes a kubeconfig for, in the order it writes them.
pub fn kubeconfig_users(spec: &PkiSpec) -> Vec<String> {
    identities(spec)
        .into_iter()
        .filter(|id| id.kubeconfig)
        .map(|id| id.name)
        .collect()
}

const CA: &str = "ca";
const ADMIN: &str = "admin";
const CA_VALIDITY: Duration = Duration::days(3650);
const LEAF_VALIDITY: Duration = Duration::days(365);
const RENEW_BEFORE: Duration = Duration::days(30);
/// Backdated so a cert is valid the moment it is written even if the clock steps back a little.
const BACKDATE: Duration = Duration::minutes(5);

/// Makes or reuses the CA, every certificate, the service-account keys and the kubeconfigs.
pub fn ensure(data: &DataDir, spec: &PkiSpec) -> Result<PkiReport, PkiError> {
    for node in &spec.node_names {
        if !valid_node_name(node) {
            return Err(PkiError::InvalidNodeName { name: node.clone() });
        }
    }
    let pki_dir = data.pki_dir();
    create_private_dir(&pki_dir)?;
    let now = OffsetDateTime::now_utc();
    let mut report = PkiReport::default();

    let ca = ensure_ca(data, spec, now, &mut report)?;
    let ca_x509 = parse_ca(&ca)?;

    let mut kubeconfig_material = Vec::new();
    for id in identities(spec) {
        let (cert_pem, key_pem) = ensure_leaf(data, &id, &ca, &ca_x509, now, &mut report)?;
        if id.kubeconfig {
            kubeconfig_material.push((id.name, cert_pem, key_pem));
        }
    }

    ensure_sa_keys(data, &mut report)?;

    create_private_dir(&data.kubeconfig_dir())?;
    for (user, cert_pem, key_pem) in kubeconfig_material {
        let yaml = kubeconfig_yaml(
            &spec.cluster_name,
            &spec.apiserver_url,
            &ca.cert_pem,
            &user,
            &cert_pem,
            &key_pem,
        );
        if write_if_changed(&data.kubeconfig(&user), yaml.as_bytes(), 0o600)? {
            report.kubeconfigs_written.push(user);
        }
    }
    Ok(report)
}

/// A kubeconfig for a new user of the cluster: a client certificate with CN `name` and O
/// `groups`, signed by the cluster CA, kept as `<pki>/user-<name>.crt/.key` so asking again
/// gives the same identity. The CA must exist and be usable: making a new one here would
/// invalidate every certificate of a running cluster, so that is left to `kwb up`.
pub fn user_kubeconfig(
    data: &DataDir,
    spec: &PkiSpec,
    name: &str,
    groups: &[String],
) -> Result<String, PkiError> {
    if !valid_node_name(name) {
        return Err(PkiError::InvalidUserName { name: name.into() });
    }
    let now = OffsetDateTime::now_utc();
    let ca = load_ca(data, now)?.map_err(|reason| PkiError::NoCluster {
        path: data.pki_dir(),
        reason,
    })?;
    let ca_x509 = parse_ca(&ca)?;
    let mut report = PkiReport::default();
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let id = Identity::client(&format!("user-{name}"), name, &groups);
    let (cert_pem, key_pem) = ensure_leaf(data, &id, &ca, &ca_x509, now, &mut report)?;
    Ok(kubeconfig_yaml(
        &spec.cluster_name,
        &spec.apiserver_url,
        &ca.cert_pem,
        name,
        &cert_pem,
        &key_pem,
    ))
}

/// Renders a self-contained kubeconfig (certificates inlined) for one client identity.
///
/// The admin's context is named after the cluster, so `kubectl --context <cluster>` reads
/// naturally; every other context is `<user>@<cluster>`.
pub fn kubeconfig_yaml(
    cluster_name: &str,
    server: &str,
    ca_pem: &str,
    user: &str,
    cert_pem: &str,
    key_pem: &str,
) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let context = if user == ADMIN {
        cluster_name.to_string()
    } else {
        format!("{user}@{cluster_name}")
    };
    let config = Kubeconfig {
        api_version: "v1".into(),
        kind: "Config".into(),
        clusters: vec![NamedCluster {
            name: cluster_name.into(),
            cluster: KubeconfigCluster {
                server: server.into(),
                certificate_authority_data: b64(ca_pem),
            },
        }],
        users: vec![NamedUser {
            name: user.into(),
            user: KubeconfigUser {
                client_certificate_data: b64(cert_pem),
                client_key_data: b64(key_pem),
            },
        }],
        contexts: vec![NamedContext {
            name: context.clone(),
            context: KubeconfigContext {
                cluster: cluster_name.into(),
                user: user.into(),
            },
        }],
        current_context: context,
    };
    // Long base64 values would otherwise become folded block scalars: valid, but odd to read.
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    match serde_saphyr::to_string_with_options(&config, options) {
        Ok(yaml) => yaml,
        // Only strings inside, so neither can fail; JSON is a valid kubeconfig too.
        Err(_) => serde_json::to_string_pretty(&config)
            .expect("a struct of strings always serializes to JSON"),
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Kubeconfig {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    clusters: Vec<NamedCluster>,
    users: Vec<NamedUser>,
    contexts: Vec<NamedContext>,
    #[serde(rename = "current-context")]
    current_context: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct NamedCluster {
    name: String,
    cluster: KubeconfigCluster,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
struct KubeconfigCluster {
    server: String,
    certificate_authority_data: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct NamedUser {
    name: String,
    user: KubeconfigUser,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
struct KubeconfigUser {
    client_certificate_data: String,
    client_key_data: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct NamedContext {
    name: String,
    context: KubeconfigContext,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct KubeconfigContext {
    cluster: String,
    user: String,
}

/// What one leaf certificate must say.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    name: String,
    common_name: String,
    organizations: Vec<String>,
    dns_names: Vec<String>,
    ips: Vec<IpAddr>,
    server_auth: bool,
    client_auth: bool,
    kubeconfig: bool,
}

impl Identity {
    fn client(name: &str, common_name: &str, organizations: &[&str]) -> Identity {
        Identity {
            name: name.into(),
            common_name: common_name.into(),
            organizations: organizations.iter().map(|o| o.to_string()).collect(),
            dns_names: Vec::new(),
            ips: Vec::new(),
            server_auth: false,
            client_auth: true,
            kubeconfig: false,
        }
    }

    fn with_kubeconfig(mut self) -> Identity {
        self.kubeconfig = true;
        self
    }

    fn server(name: &str, common_name: &str, dns_names: &[&str], ips: &[IpAddr]) -> Identity {
        Identity {
            name: name.into(),
            common_name: common_name.into(),
            organizations: Vec::new(),
            dns_names: dns_names.iter().map(|d| d.to_string()).collect(),
            ips: ips.to_vec(),
            server_auth: true,
            client_auth: false,
            kubeconfig: false,
        }
    }

    /// The SANs as comparable strings, the same shape [`cert_sans`] reads back.
    fn sans(&self) -> BTreeSet<String> {
        let dns = self.dns_names.iter().map(|d| format!("DNS:{d}"));
        let ips = self.ips.iter().map(|ip| format!("IP:{ip}"));
        dns.chain(ips).collect()
    }
}

fn identities(spec: &PkiSpec) -> Vec<Identity> {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut etcd = Identity::server("etcd-server", "kube-etcd", &["localhost"], &[loopback]);
    // etcd presents its serving cert to its peers too.
    etcd.client_auth = true;
    let mut ids = vec![
        Identity::server(
            "apiserver",
            "kube-apiserver",
            &[
                "localhost",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
            &[loopback, IpAddr::V4(spec.kubernetes_service_ip)],
        ),
        etcd,
        Identity::client("apiserver-etcd-client", "kube-apiserver-etcd-client", &[]),
        Identity::client(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            &["system:masters"],
        ),
        Identity::client(ADMIN, "kubernetes-admin", &["system:masters"]).with_kubeconfig(),
        Identity::client("controller-manager", "system:kube-controller-manager", &[])
            .with_kubeconfig(),
        Identity::client("scheduler", "system:kube-scheduler", &[]).with_kubeconfig(),
        Identity::client("proxy", "system:kube-proxy", &[]).with_kubeconfig(),
    ];
    for node in &spec.node_names {
        ids.push(
            Identity::client(
                &kubelet_client_identity(node),
                &format!("system:node:{node}"),
                &["system:nodes"],
            )
            .with_kubeconfig(),
        );
        ids.push(Identity::server(
            &kubelet_server_identity(node),
            node,
            &[node.as_str(), "localhost"],
            &[loopback],
        ));
    }
    ids
}

/// Node names end up in file names and DNS SANs, so only what Kubernetes itself accepts.
fn valid_node_name(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(ok_char)
        && name.chars().next().is_some_and(alnum)
        && name.chars().last().is_some_and(alnum)
}

struct Ca {
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    not_after: OffsetDateTime,
    /// Freshly made: every leaf signed by a predecessor must go.
    new: bool,
}

/// The CA on disk, or why it cannot be used (missing, expired, not a CA…).
fn load_ca(data: &DataDir, now: OffsetDateTime) -> Result<Result<Ca, String>, PkiError> {
    let (crt_path, key_path) = identity_files(data, CA);
    let (cert_pem, cert_der, key) = match load_pair(&crt_path, &key_path)? {
        Err(reason) => return Ok(Err(reason)),
        Ok(pair) => pair,
    };
    if let Some(reason) = ca_problem(&cert_der, &key, now) {
        return Ok(Err(reason));
    }
    fix_key_mode(&key_path)?;
    let not_after =
        parse_der(&cert_der).and_then(|c| timestamp(c.validity().not_after.timestamp()));
    let issuer = Issuer::from_ca_cert_der(&cert_der.as_slice().into(), key);
    Ok(match (issuer, not_after) {
        (Ok(issuer), Some(not_after)) => Ok(Ca {
            cert_pem,
            cert_der,
            issuer,
            not_after,
            new: false,
        }),
        _ => Err("CA certificate cannot be used as an issuer".to_string()),
    })
}

/// The CA certificate, parsed for checking leaves against it.
fn parse_ca(ca: &Ca) -> Result<X509Certificate<'_>, PkiError> {
    // Only a CA that parsed is ever loaded or made; kept as an error, not a panic.
    parse_der(&ca.cert_der).ok_or(PkiError::Generate {
        what: "the cluster CA".into(),
        error: rcgen::Error::CouldNotParseCertificate,
    })
}

fn ensure_ca(
    data: &DataDir,
    spec: &PkiSpec,
    now: OffsetDateTime,
    report: &mut PkiReport,
) -> Result<Ca, PkiError> {
    let reason = match load_ca(data, now)? {
        Ok(ca) => return Ok(ca),
        Err(reason) => reason,
    };
    let (crt_path, key_path) = identity_files(data, CA);

    let key = generate_key(CA)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(
        DnType::CommonName,
        format!("kwb-ca ({})", spec.cluster_name),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - BACKDATE;
    params.not_after = now + CA_VALIDITY;
    let cert = params
        .self_signed(&key)
        .map_err(|error| PkiError::Generate {
            what: "the cluster CA".into(),
            error,
        })?;
    let cert_pem = cert.pem();
    write_pair(&crt_path, &cert_pem, &key_path, &key.serialize_pem())?;
    report.regenerated.push(Regenerated {
        name: CA.into(),
        reason,
    });
    Ok(Ca {
        cert_pem,
        cert_der: cert.der().to_vec(),
        not_after: params.not_after,
        issuer: Issuer::new(params, key),
        new: true,
    })
}

/// Why the CA on disk cannot be kept, if it cannot.
fn ca_problem(cert_der: &[u8], key: &KeyPair, now: OffsetDateTime) -> Option<String> {
    let Some(cert) = parse_der(cert_der) else {
        return Some("unparsable certificate".into());
    };
    if !cert.is_ca() {
        return Some("not a CA certificate".into());
    }
    if key.subject_public_key_info() != cert.public_key().raw {
        return Some("key does not match certificate".into());
    }
    if cert.verify_signature(None).is_err() {
        return Some("not self-signed".into());
    }
    validity_problem(&cert, now)
}

/// Reuses or makes one leaf; returns its (certificate, key) PEM for the kubeconfigs.
fn ensure_leaf(
    data: &DataDir,
    id: &Identity,
    ca: &Ca,
    ca_x509: &X509Certificate<'_>,
    now: OffsetDateTime,
    report: &mut PkiReport,
) -> Result<(String, String), PkiError> {
    let (crt_path, key_path) = identity_files(data, &id.name);
    let reason = if ca.new {
        "the CA was regenerated".to_string()
    } else {
        match load_pair(&crt_path, &key_path)? {
            Err(reason) => reason,
            Ok((cert_pem, cert_der, key)) => {
                match leaf_problem(id, &cert_der, &key, ca_x509, now) {
                    Some(reason) => reason,
                    None => {
                        fix_key_mode(&key_path)?;
                        return Ok((cert_pem, key.serialize_pem()));
                    }
                }
            }
        }
    };

    let key = generate_key(&id.name)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, id.common_name.as_str());
    for org in &id.organizations {
        params
            .distinguished_name
            .push(DnType::OrganizationName, org.as_str());
    }
    for dns in &id.dns_names {
        let name = dns
            .as_str()
            .try_into()
            .map_err(|error| PkiError::Generate {
                what: format!("the {} certificate", id.name),
                error,
            })?;
        params.subject_alt_names.push(SanType::DnsName(name));
    }
    for ip in &id.ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if id.server_auth {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if id.client_auth {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - BACKDATE;
    // A leaf outliving its CA would fail verification anyway; it is renewed along with the CA.
    params.not_after = (now + LEAF_VALIDITY).min(ca.not_after);
    let cert = params
        .signed_by(&key, &ca.issuer)
        .map_err(|error| PkiError::Generate {
            what: format!("the {} certificate", id.name),
            error,
        })?;
    let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
    write_pair(&crt_path, &cert_pem, &key_path, &key_pem)?;
    report.regenerated.push(Regenerated {
        name: id.name.clone(),
        reason,
    });
    Ok((cert_pem, key_pem))
}

/// Why a leaf on disk cannot be kept, if it cannot.
fn leaf_problem(
    id: &Identity,
    cert_der: &[u8],
    key: &KeyPair,
    ca: &X509Certificate<'_>,
    now: OffsetDateTime,
) -> Option<String> {
    let Some(cert) = parse_der(cert_der) else {
        return Some("unparsable certificate".into());
    };
    if key.subject_public_key_info() != cert.public_key().raw {
        return Some("key does not match certificate".into());
    }
    if cert.issuer().as_raw() != ca.subject().as_raw()
        || cert.verify_signature(Some(ca.public_key())).is_err()
    {
        return Some("not signed by the current CA".into());
    }
    if let Some(problem) = validity_problem(&cert, now) {
        return Some(problem);
    }
    let subject = cert.subject();
    let cns: BTreeSet<_> = subject.iter_common_name().map(attr_string).collect();
    let orgs: BTreeSet<_> = subject.iter_organization().map(attr_string).collect();
    if cns != BTreeSet::from([id.common_name.clone()])
        || orgs != id.organizations.iter().cloned().collect()
    {
        return Some("subject differs from what the cluster needs".into());
    }
    match cert_sans(&cert) {
        Some(sans) if sans == id.sans() => {}
        _ => return Some("subject alternative names differ from what the cluster needs".into()),
    }
    match cert.extended_key_usage() {
        Ok(Some(eku))
            if eku.value.server_auth == id.server_auth
                && eku.value.client_auth == id.client_auth => {}
        _ => return Some("extended key usages differ from what the cluster needs".into()),
    }
    None
}

fn attr_string(attr: &x509_parser::x509::AttributeTypeAndValue<'_>) -> String {
    attr.as_str().unwrap_or("<not a string>").to_string()
}

/// SANs as `DNS:<name>` / `IP:<addr>`; None when the extension is malformed.
fn cert_sans(cert: &X509Certificate<'_>) -> Option<BTreeSet<String>> {
    let Some(ext) = cert.subject_alternative_name().ok()? else {
        return Some(BTreeSet::new());
    };
    let mut sans = BTreeSet::new();
    for name in &ext.value.general_names {
        sans.insert(match name {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(b) => match b.len() {
                4 => format!("IP:{}", IpAddr::from(<[u8; 4]>::try_from(*b).ok()?)),
                16 => format!("IP:{}", IpAddr::from(<[u8; 16]>::try_from(*b).ok()?)),
                _ => return None,
            },
            other => format!("{other:?}"),
        });
    }
    Some(sans)
}

fn validity_problem(cert: &X509Certificate<'_>, now: OffsetDateTime) -> Option<String> {
    let validity = cert.validity();
    let now = now.unix_timestamp();
    if validity.not_before.timestamp() > now {
        return Some(format!("not valid before {}", validity.not_before));
    }
    let left = validity.not_after.timestamp() - now;
    if left < RENEW_BEFORE.whole_seconds() {
        return Some(format!("expires {}", validity.not_after));
    }
    None
}

fn timestamp(unix: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix).ok()
}

fn parse_der(der: &[u8]) -> Option<X509Certificate<'_>> {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, cert)| cert)
}

/// A certificate (PEM, DER) and its key, or why they cannot be used (missing, unparsable).
/// Only I/O failures other than "not found" are errors: those are not kwb's to paper over.
type LoadedPair = Result<(String, Vec<u8>, KeyPair), String>;

fn load_pair(crt_path: &Path, key_path: &Path) -> Result<LoadedPair, PkiError> {
    let Some(crt) = read_optional(crt_path)? else {
        return Ok(Err("certificate missing".into()));
    };
    let Some(key) = read_optional(key_path)? else {
        return Ok(Err("key missing".into()));
    };
    let cert_der = match x509_parser::pem::parse_x509_pem(&crt) {
        Ok((_, pem)) if pem.label == "CERTIFICATE" && parse_der(&pem.contents).is_some() => {
            pem.contents
        }
        _ => return Ok(Err("unparsable certificate".into())),
    };
    let Ok(cert_pem) = String::from_utf8(crt) else {
        return Ok(Err("unparsable certificate".into()));
    };
    let key = match std::str::from_utf8(&key).ok().map(KeyPair::from_pem) {
        Some(Ok(key)) => key,
        _ => return Ok(Err("unparsable key".into())),
    };
    Ok(Ok((cert_pem, cert_der, key)))
}

/// Reuses `sa.key` whenever it parses: a new one would invalidate every issued token.
fn ensure_sa_keys(data: &DataDir, report: &mut PkiReport) -> Result<(), PkiError> {
    let (key_path, pub_path) = sa_key_paths(data);
    let existing = read_optional(&key_path)?.and_then(|bytes| {
        let pem = String::from_utf8(bytes).ok()?;
        KeyPair::from_pem(&pem).ok()
    });
    let key = match existing {
        Some(key) => {
            fix_key_mode(&key_path)?;
            key
        }
        None => {
            let reason = if key_path.exists() {
                "unparsable key"
            } else {
                "key missing"
            };
            let key = generate_key("sa")?;
            write_atomic(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
            report.regenerated.push(Regenerated {
                name: "sa".into(),
                reason: reason.into(),
            });
            key
        }
    };
    if write_if_changed(&pub_path, key.public_key_pem().as_bytes(), 0o644)? {
        report.regenerated.push(Regenerated {
            name: "sa.pub".into(),
            reason: "missing or not matching sa.key".into(),
        });
    }
    Ok(())
}

fn generate_key(what: &str) -> Result<KeyPair, PkiError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|error| PkiError::Generate {
        what: format!("a key for {what}"),
        error,
    })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, PkiError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(PkiError::Read {
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Key first: a crash in between leaves a new key beside the old cert, which the next run sees
/// as a mismatch and repairs, rather than a cert whose key is gone.
fn write_pair(
    crt_path: &Path,
    cert_pem: &str,
    key_path: &Path,
    key_pem: &str,
) -> Result<(), PkiError> {
    write_atomic(key_path, key_pem.as_bytes(), 0o600)?;
    write_atomic(crt_path, cert_pem.as_bytes(), 0o644)
}

/// Keys copied in by hand may be world-readable; tighten them without rewriting.
fn fix_key_mode(path: &Path) -> Result<(), PkiError> {
    set_mode(path, 0o600).map_err(|error| PkiError::Write {
        path: path.to_path_buf(),
        error,
    })
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    let current = fs::metadata(path)?.permissions().mode() & 0o777;
    if current != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(dir)
        .and_then(|()| set_mode(dir, 0o700))
        .map_err(|error| PkiError::CreateDir {
            path: dir.to_path_buf(),
            error,
        })
}

/// Writes only when the content differs, so unchanged kubeconfigs keep their mtime and nobody
/// watching them reloads for nothing. Returns whether it wrote.
fn write_if_changed(path: &Path, content: &[u8], mode: u32) -> Result<bool, PkiError> {
    if read_optional(path)?.as_deref() == Some(content) {
        set_mode(path, mode).map_err(|error| PkiError::Write {
            path: path.to_path_buf(),
            error,
        })?;
        return Ok(false);
    }
    write_atomic(path, content, mode)?;
    Ok(true)
}

/// Temp file in the same dir, mode set before any byte is written, then rename: readers see the
/// old file or the new one, never a half-written or briefly world-readable key.
fn write_atomic(path: &Path, content: &[u8], mode: u32) -> Result<(), PkiError> {
    let err = |error| PkiError::Write {
        path: path.to_path_buf(),
        error,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        // The open's mode is filtered by the umask, and a leftover temp file keeps its own.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(content)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(error) = result {
        let _ = fs::remove_file(&tmp);
        return Err(err(error));
    }
    // Makes the rename durable; a failure here loses nothing already visible.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PkiSpec {
        PkiSpec {
            cluster_name: "kwb-test".into(),
            apiserver_url: "https://127.0.0.1:6443".into(),
            kubernetes_service_ip: Ipv4Addr::new(10, 96, 0, 1),
            node_names: vec!["node-a".into(), "node-b".into()],
        }
    }

    fn setup() -> (tempfile::TempDir, DataDir, PkiReport) {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path().join("data"));
        let report = ensure(&data, &spec()).unwrap();
        (tmp, data, report)
    }

    fn all_cert_identities(spec: &PkiSpec) -> Vec<String> {
        let mut names = vec![CA.to_string()];
        names.extend(identities(spec).into_iter().map(|id| id.name));
        names
    }

    fn cert_der(data: &DataDir, name: &str) -> Vec<u8> {
        let pem = fs::read(identity_files(data, name).0).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
        pem.contents
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Every file under the data dir, with its bytes.
    fn snapshot(data: &DataDir) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        for dir in [data.pki_dir(), data.kubeconfig_dir()] {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                files.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
        files.sort();
        files
    }

    #[test]
    fn first_ensure_makes_everything() {
        let (_tmp, data, report) = setup();
        let mut expected = all_cert_identities(&spec());
        expected.extend(["sa".to_string(), "sa.pub".to_string()]);
        assert_eq!(report.regenerated_names(), expected);
        assert_eq!(
            report.kubeconfigs_written,
            [
                "admin",
                "controller-manager",
                "scheduler",
                "proxy",
                "kubelet-node-a",
                "kubelet-node-b"
            ]
        );
        assert_eq!(kubeconfig_users(&spec()), report.kubeconfigs_written);
        for user in &report.kubeconfigs_written {
            assert!(data.kubeconfig(user).is_file(), "{user}");
        }
    }

    #[test]
    fn every_leaf_verifies_against_the_ca() {
        let (_tmp, data, _) = setup();
        let ca_der = cert_der(&data, CA);
        let ca = parse_der(&ca_der).unwrap();
        assert!(ca.is_ca());
        ca.verify_signature(None).unwrap();
        let cn: Vec<_> = ca
            .subject()
            .iter_common_name()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(cn, ["kwb-ca (kwb-test)"]);
        let ku = ca.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());
        let ca_days =
            (ca.validity().not_after.timestamp() - ca.validity().not_before.timestamp()) / 86400;
        assert!((3649..=3651).contains(&ca_days), "{ca_days}");

        for id in identities(&spec()) {
            let der = cert_der(&data, &id.name);
            let cert = parse_der(&der).unwrap();
            cert.verify_signature(Some(ca.public_key()))
                .unwrap_or_else(|e| panic!("{}: {e}", id.name));
            assert_eq!(cert.issuer().as_raw(), ca.subject().as_raw());
            assert!(!cert.is_ca(), "{}", id.name);
            let days = (cert.validity().not_after.timestamp()
                - cert.validity().not_before.timestamp())
                / 86400;
            assert!((364..=366).contains(&days), "{}: {days}", id.name);
            let key_pem = fs::read_to_string(identity_files(&data, &id.name).1).unwrap();
            let key = KeyPair::from_pem(&key_pem).unwrap();
            assert_eq!(key.algorithm(), &PKCS_ECDSA_P256_SHA256);
            assert_eq!(key.subject_public_key_info(), cert.public_key().raw);
        }
    }

    #[test]
    fn subjects_sans_and_usages_are_as_specified() {
        let (_tmp, data, _) = setup();
        let check =
            |name: &str, cn: &str, orgs: &[&str], sans: &[&str], server: bool, client: bool| {
                let der = cert_der(&data, name);
                let cert = parse_der(&der).unwrap();
                let got_cn: Vec<_> = cert
                    .subject()
                    .iter_common_name()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                let got_o: Vec<_> = cert
                    .subject()
                    .iter_organization()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(got_cn, [cn], "{name}");
                assert_eq!(got_o, orgs, "{name}");
                let want: BTreeSet<String> = sans.iter().map(|s| s.to_string()).collect();
                assert_eq!(cert_sans(&cert).unwrap(), want, "{name}");
                let eku = cert.extended_key_usage().unwrap().unwrap().value;
                assert_eq!(
                    (eku.server_auth, eku.client_auth),
                    (server, client),
                    "{name}"
                );
            };
        check(
            "apiserver",
            "kube-apiserver",
            &[],
            &[
                "DNS:localhost",
                "DNS:kubernetes",
                "DNS:kubernetes.default",
                "DNS:kubernetes.default.svc",
                "DNS:kubernetes.default.svc.cluster.local",
                "IP:127.0.0.1",
                "IP:10.96.0.1",
            ],
            true,
            false,
        );
        check(
            "etcd-server",
            "kube-etcd",
            &[],
            &["DNS:localhost", "IP:127.0.0.1"],
            true,
            true,
        );
        check(
            "apiserver-etcd-client",
            "kube-apiserver-etcd-client",
            &[],
            &[],
            false,
            true,
        );
        check(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            &["system:masters"],
            &[],
            false,
            true,
        );
        check(
            "admin",
            "kubernetes-admin",
            &["system:masters"],
            &[],
            false,
            true,
        );
        check(
            "controller-manager",
            "system:kube-controller-manager",
            &[],
            &[],
            false,
            true,
        );
        check("scheduler", "system:kube-scheduler", &[], &[], false, true);
        check("proxy", "system:kube-proxy", &[], &[], false, true);
        for node in ["node-a", "node-b"] {
            check(
                &format!("kubelet-{node}"),
                &format!("system:node:{node}"),
                &["system:nodes"],
                &[],
                false,
                true,
            );
            check(
                &format!("kubelet-{node}-server"),
                node,
                &[],
                &[&format!("DNS:{node}"), "DNS:localhost", "IP:127.0.0.1"],
                true,
                false,
            );
        }
    }

    #[test]
    fn sa_keys_are_a_matching_p256_pair() {
        let (_tmp, data, _) = setup();
        let (key_path, pub_path) = sa_key_paths(&data);
        let key_pem = fs::read_to_string(&key_path).unwrap();
        assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let key = KeyPair::from_pem(&key_pem).unwrap();
        assert_eq!(key.algorithm(), &PKCS_ECDSA_P256_SHA256);
        let pub_pem = fs::read_to_string(&pub_path).unwrap();
        assert!(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let spki = rcgen::SubjectPublicKeyInfo::from_pem(&pub_pem).unwrap();
        assert_eq!(
            spki.subject_public_key_info(),
            key.subject_public_key_info()
        );
    }

    #[test]
    fn modes_are_private() {
        let (_tmp, data, _) = setup();
        assert_eq!(mode(&data.pki_dir()), 0o700);
        assert_eq!(mode(&data.kubeconfig_dir()), 0o700);
        for id in all_cert_identities(&spec()) {
            assert_eq!(mode(&identity_files(&data, &id).1), 0o600, "{id}");
        }
        assert_eq!(mode(&sa_key_paths(&data).0), 0o600);
        for user in kubeconfig_users(&spec()) {
            assert_eq!(mode(&data.kubeconfig(&user)), 0o600, "{user}");
        }
        // No temp files left behind.
        for (path, _) in snapshot(&data) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.starts_with('.'), "{name}");
        }
    }

    #[test]
    fn second_ensure_changes_nothing() {
        let (_tmp, data, _) = setup();
        let before = snapshot(&data);
        let report = ensure(&data, &spec()).unwrap();
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(snapshot(&data), before);
    }

    #[test]
    fn loose_key_mode_is_tightened_without_regenerating() {
        let (_tmp, data, _) = setup();
        let key = identity_files(&data, "admin").1;
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let report = ensure(&data, &spec()).unwrap();
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(mode(&key), 0o600);
    }

    #[test]
    fn new_service_ip_regenerates_only_the_apiserver_cert() {
        let (_tmp, data, _) = setup();
        let mut spec = spec();
        spec.kubernetes_service_ip = Ipv4Addr::new(10, 0, 0, 1);
        let report = ensure(&data, &spec).unwrap();
        assert_eq!(report.regenerated_names(), ["apiserver"]);
        assert!(report.regenerated[0].reason.contains("alternative names"));
        assert!(report.kubeconfigs_written.is_empty());
        let der = cert_der(&data, "apiserver");
        let sans = cert_sans(&parse_der(&der).unwrap()).unwrap();
        assert!(sans.contains("IP:10.0.0.1") && !sans.contains("IP:10.96.0.1"));
    }

    #[test]
    fn new_url_rewrites_only_kubeconfigs() {
        let (_tmp, data, _) = setup();
        let mut spec = spec();
        spec.apiserver_url = "https://127.0.0.1:7443".into();
        let report = ensure(&data, &spec).unwrap();
        assert!(report.regenerated.is_empty(), "{report:?}");
        assert_eq!(report.kubeconfigs_written, kubeconfig_users(&spec));
        let yaml = fs::read_to_string(data.admin_kubeconfig()).unwrap();
        assert!(yaml.contains("https://127.0.0.1:7443"));
    }

    #[test]
    fn new_node_gets_its_certs_and_kubeconfig() {
        let (_tmp, data, _) = setup();
        let mut spec = spec();
        spec.node_names.push("node-c".into());
        let report = ensure(&data, &spec).unwrap();
        assert_eq!(
            report.regenerated_names(),
            ["kubelet-node-c", "kubelet-node-c-server"]
        );
        assert_eq!(report.kubeconfigs_written, ["kubelet-node-c"]);
    }

    #[test]
    fn missing_ca_key_regenerates_every_cert() {
        let (_tmp, data, _) = setup();
        let old_sa = fs::read(sa_key_paths(&data).0).unwrap();
        let old_admin = fs::read(identity_files(&data, "admin").0).unwrap();
        fs::remove_file(identity_files(&data, CA).1).unwrap();
        let report = ensure(&data, &spec()).unwrap();
        assert_eq!(report.regenerated_names(), all_cert_identities(&spec()));
        assert_eq!(report.kubeconfigs_written, kubeconfig_users(&spec()));
        // The service-account key does not depend on the CA and outlives it.
        assert_eq!(fs::read(sa_key_paths(&data).0).unwrap(), old_sa);
        assert_ne!(
            fs::read(identity_files(&data, "admin").0).unwrap(),
            old_admin
        );
        let ca_der = cert_der(&data, CA);
        let ca = parse_der(&ca_der).unwrap();
        let admin_der = cert_der(&data, "admin");
        parse_der(&admin_der)
            .unwrap()
            .verify_signature(Some(ca.public_key()))
            .unwrap();
        assert!(ensure(&data, &spec()).unwrap().is_empty());
    }

    #[test]
    fn leaf_signed_by_another_ca_is_regenerated() {
        let (_tmp, data, _) = setup();
        let (_other_tmp, other, _) = setup();
        for path in [
            identity_files(&other, "scheduler").0,
            identity_files(&other, "scheduler").1,
        ] {
            let to = data.pki_dir().join(path.file_name().unwrap());
            fs::copy(&path, &to).unwrap();
        }
        let report = ensure(&data, &spec()).unwrap();
        assert_eq!(report.regenerated_names(), ["scheduler"]);
        assert_eq!(report.regenerated[0].reason, "not signed by the current CA");
        assert_eq!(report.kubeconfigs_written, ["scheduler"]);
    }

    #[test]
    fn corrupt_files_are_regenerated() {
        let (_tmp, data, _) = setup();
        fs::write(identity_files(&data, "proxy").0, "not a certificate").unwrap();
        fs::write(identity_files(&data, "etcd-server").1, b"\xff\xfe garbage").unwrap();
        let (crt, _) = identity_files(&data, "apiserver-etcd-client");
        fs::write(
            &crt,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        fs::write(sa_key_paths(&data).1, "stale").unwrap();
        let report = ensure(&data, &spec()).unwrap();
        assert_eq!(
            report.regenerated_names(),
            ["etcd-server", "apiserver-etcd-client", "proxy", "sa.pub"]
        );
        assert_eq!(report.kubeconfigs_written, ["proxy"]);
        assert!(ensure(&data, &spec()).unwrap().is_empty());
    }

    #[test]
    fn mismatched_key_is_regenerated() {
        let (_tmp, data, _) = setup();
        fs::copy(
            identity_files(&data, "admin").1,
            identity_files(&data, "scheduler").1,
        )
        .unwrap();
        let report = ensure(&data, &spec()).unwrap();
        assert_eq!(report.regenerated_names(), ["scheduler"]);
        assert_eq!(
            report.regenerated[0].reason,
            "key does not match certificate"
        );
    }

    #[test]
    fn corrupt_ca_regenerates_everything_and_corrupt_sa_key_is_replaced() {
        let (_tmp, data, _) = setup();
        fs::write(identity_files(&data, CA).0, "garbage").unwrap();
        fs::write(sa_key_paths(&data).0, "garbage").unwrap();
        let report = ensure(&data, &spec()).unwrap();
        let mut expected = all_cert_identities(&spec());
        expected.extend(["sa".to_string(), "sa.pub".to_string()]);
        assert_eq!(report.regenerated_names(), expected);
    }

    #[test]
    fn expiring_leaf_is_regenerated() {
        let (_tmp, data, _) = setup();
        let ca_der = cert_der(&data, CA);
        let ca = parse_der(&ca_der).unwrap();
        let id = identities(&spec())
            .into_iter()
            .find(|id| id.name == "admin")
            .unwrap();
        let key_pem = fs::read_to_string(identity_files(&data, "admin").1).unwrap();
        let key = KeyPair::from_pem(&key_pem).unwrap();
        let admin_der = cert_der(&data, "admin");
        let now = OffsetDateTime::now_utc();
        assert_eq!(leaf_problem(&id, &admin_der, &key, &ca, now), None);
        let later = now + LEAF_VALIDITY - Duration::days(29);
        let problem = leaf_problem(&id, &admin_der, &key, &ca, later).unwrap();
        assert!(problem.starts_with("expires"), "{problem}");
        let ca_key_pem = fs::read_to_string(identity_files(&data, CA).1).unwrap();
        let ca_key = KeyPair::from_pem(&ca_key_pem).unwrap();
        assert_eq!(ca_problem(&ca_der, &ca_key, now), None);
        assert!(ca_problem(&ca_der, &ca_key, now + CA_VALIDITY - Duration::days(1)).is_some());
    }

    #[test]
    fn unreadable_file_is_an_error_not_a_regeneration() {
        let (_tmp, data, _) = setup();
        // A directory in its place: unreadable even for root, unlike a mode-000 file.
        let (crt, _) = identity_files(&data, "admin");
        fs::remove_file(&crt).unwrap();
        fs::create_dir(&crt).unwrap();
        let err = ensure(&data, &spec()).unwrap_err();
        assert!(matches!(err, PkiError::Read { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("admin.crt") && msg.contains("check"), "{msg}");
    }

    #[test]
    fn bad_node_name_is_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let data = DataDir::new(tmp.path());
        let mut spec = spec();
        spec.node_names = vec!["../evil".into()];
        let err = ensure(&data, &spec).unwrap_err();
        assert!(matches!(err, PkiError::InvalidNodeName { .. }), "{err}");
        assert!(valid_node_name("kwb-control-plane"));
        assert!(!valid_node_name("Node") && !valid_node_name("") && !valid_node_name("a-"));
    }

    #[test]
    fn a_user_is_signed_by_the_clusters_ca_and_never_makes_one() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = DataDir::new(tmp.path().join("none"));
        let err = user_kubeconfig(&empty, &spec(), "demo", &[]).unwrap_err();
        assert!(matches!(err, PkiError::NoCluster { .. }), "{err}");
        assert!(!ca_cert_path(&empty).exists(), "a user command made a CA");

        let (_tmp, data, _) = setup();
        let groups = vec!["workshop".to_string()];
        let yaml = user_kubeconfig(&data, &spec(), "demo", &groups).unwrap();
        let cfg: Kubeconfig = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(cfg.current_context, "demo@kwb-test");
        // Asking again gives the same identity.
        assert_eq!(
            user_kubeconfig(&data, &spec(), "demo", &groups).unwrap(),
            yaml
        );
        assert!(user_kubeconfig(&data, &spec(), "Bad/Name", &[]).is_err());

        // A broken CA is reported, not replaced behind the running cluster's back.
        fs::write(ca_cert_path(&data), "junk").unwrap();
        let err = user_kubeconfig(&data, &spec(), "demo2", &[]).unwrap_err();
        assert!(matches!(err, PkiError::NoCluster { .. }), "{err}");
        assert_eq!(fs::read_to_string(ca_cert_path(&data)).unwrap(), "junk");
    }

    #[test]
    fn kubeconfig_parses_and_carries_server_and_credentials() {
        let (_tmp, data, _) = setup();
        let yaml = fs::read_to_string(data.admin_kubeconfig()).unwrap();
        let cfg: Kubeconfig = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(cfg.api_version, "v1");
        assert_eq!(cfg.kind, "Config");
        assert_eq!(cfg.clusters[0].name, "kwb-test");
        assert_eq!(cfg.clusters[0].cluster.server, "https://127.0.0.1:6443");
        assert_eq!(cfg.current_context, "kwb-test");
        assert_eq!(cfg.contexts[0].context.user, "admin");
        let b64 = base64::engine::general_purpose::STANDARD;
        let ca = b64
            .decode(&cfg.clusters[0].cluster.certificate_authority_data)
            .unwrap();
        assert_eq!(ca, fs::read(ca_cert_path(&data)).unwrap());
        let key = b64.decode(&cfg.users[0].user.client_key_data).unwrap();
        assert_eq!(key, fs::read(identity_files(&data, "admin").1).unwrap());

        let yaml = fs::read_to_string(data.kubeconfig("scheduler")).unwrap();
        let cfg: Kubeconfig = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(cfg.current_context, "scheduler@kwb-test");
        assert_eq!(cfg.users[0].name, "scheduler");
    }

    #[test]
    fn kubeconfig_yaml_round_trips_awkward_names() {
        for name in ["yes", "123", "a: b", "#x", "null", "- x", "'q\""] {
            let yaml = kubeconfig_yaml(name, "https://[::1]:6443", "ca", name, "c", "k");
            let cfg: Kubeconfig =
                serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{name:?}: {e}\n{yaml}"));
            assert_eq!(cfg.clusters[0].name, name);
            assert_eq!(cfg.users[0].name, name);
            assert_eq!(cfg.clusters[0].cluster.server, "https://[::1]:6443");
        }
    }

    #[test]
    fn kubectl_reads_the_admin_kubeconfig() {
        let kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file());
        let Some(kubectl) = kubectl else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("kubectl not found, and CI=true requires this test to run");
            }
            eprintln!("skipped: kubectl not found");
            return;
        };
        let (tmp, data, _) = setup();
        let run = |args: &[&str]| {
            let out = std::process::Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(data.admin_kubeconfig())
                .args(args)
                // Keeps kubectl away from the developer's own ~/.kube.
                .env("HOME", tmp.path())
                .env_remove("KUBECONFIG")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "kubectl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let cert_b64 = run(&[
            "config",
            "view",
            "--raw",
            "-o",
            "jsonpath={.users[0].user.client-certificate-data}",
        ]);
        let cert = base64::engine::general_purpose::STANDARD
            .decode(cert_b64.trim())
            .unwrap();
        assert_eq!(cert, fs::read(identity_files(&data, "admin").0).unwrap());
        let server = run(&[
            "config",
            "view",
            "-o",
            "jsonpath={.clusters[0].cluster.server}",
        ]);
        assert_eq!(server.trim(), "https://127.0.0.1:6443");
        let contexts = run(&["config", "get-contexts", "-o", "name"]);
        assert_eq!(contexts.trim(), "kwb-test");
    }
}
