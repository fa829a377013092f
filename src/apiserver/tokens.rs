//! Service-account tokens: JWTs signed ES256 with the cluster's service-account key
//! (`--service-account-signing-key-file`, PKCS#8) and verified with its public half
//! (`--service-account-key-file`, SPKI), carrying upstream's claims, so that a token made here
//! reads like one from a real cluster (`kubectl create token`, the kubelet's projected tokens).

use std::path::Path;

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, UnparsedPublicKey};
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("reading {path}: {error}")]
    Read { path: String, error: String },
    #[error("{0} is not a P-256 ECDSA key (kwb's PKI makes those)")]
    Key(String),
    #[error("malformed token")]
    Malformed,
    #[error("invalid signature")]
    Signature,
    #[error("token issued by {0:?}, not this cluster")]
    Issuer(String),
    #[error("token has expired")]
    Expired,
    #[error("token is not valid for this audience")]
    Audience,
}

/// The claims of a verified token that authentication needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub namespace: String,
    pub service_account: String,
    pub uid: String,
    /// The pod (name, uid) the token is bound to, if any.
    pub pod: Option<(String, String)>,
}

impl Subject {
    pub fn username(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }

    pub fn groups(&self) -> Vec<String> {
        vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{}", self.namespace),
            "system:authenticated".into(),
        ]
    }
}

pub struct Tokens {
    signer: Option<EcdsaKeyPair>,
    /// Raw public points (uncompressed P-256) that verify tokens.
    verifiers: Vec<Vec<u8>>,
    /// `kid` of tokens this server signs: a digest of the public key, as upstream derives it.
    kid: String,
    pub issuer: String,
    /// What a token must be meant for; defaults to the issuer, as upstream's --api-audiences.
    pub audiences: Vec<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn read(path: &Path) -> Result<Vec<u8>, TokenError> {
    std::fs::read(path).map_err(|e| TokenError::Read {
        path: path.display().to_string(),
        error: e.to_string(),
    })
}

impl Tokens {
    /// From the apiserver's flags; either key may be missing (then no signing, or only the
    /// signing key's own public half verifies).
    pub fn load(
        signing_key: Option<&Path>,
        public_key: Option<&Path>,
        issuer: &str,
    ) -> Result<Tokens, TokenError> {
        let rng = SystemRandom::new();
        let signer = match signing_key {
            Some(path) => {
                let pem = read(path)?;
                let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(&pem)
                    .map_err(|_| TokenError::Key(path.display().to_string()))?;
                Some(
                    EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        der.secret_pkcs8_der(),
                        &rng,
                    )
                    .map_err(|_| TokenError::Key(path.display().to_string()))?,
                )
            }
            None => None,
        };
        let mut verifiers = Vec::new();
        if let Some(path) = public_key {
            let pem = read(path)?;
            let der = rustls::pki_types::SubjectPublicKeyInfoDer::from_pem_slice(&pem)
                .map_err(|_| TokenError::Key(path.display().to_string()))?;
            use x509_parser::prelude::FromDer;
            let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der.as_ref())
                .map_err(|_| TokenError::Key(path.display().to_string()))?;
            verifiers.push(spki.subject_public_key.data.to_vec());
        }
        if let Some(s) = &signer {
            let own = s.public_key().as_ref().to_vec();
            if !verifiers.contains(&own) {
                verifiers.push(own);
            }
        }
        let kid = verifiers.first().map_or(String::new(), |k| {
            b64(ring::digest::digest(&ring::digest::SHA256, k).as_ref())
        });
        Ok(Tokens {
            signer,
            verifiers,
            kid,
            issuer: issuer.to_string(),
            audiences: vec![issuer.to_string()],
        })
    }

    /// A token for a service account, valid `seconds` from `now` (unix seconds), for
    /// `audiences` (empty: the server's own), optionally bound to a pod.
    pub fn issue(
        &self,
        subject: &Subject,
        audiences: &[String],
        now: i64,
        seconds: i64,
    ) -> Option<String> {
        let signer = self.signer.as_ref()?;
        let audiences = if audiences.is_empty() {
            &self.audiences
        } else {
            audiences
        };
        let mut k8s = json!({
            "namespace": subject.namespace,
            "serviceaccount": {"name": subject.service_account, "uid": subject.uid},
        });
        if let Some((name, uid)) = &subject.pod {
            k8s["pod"] = json!({"name": name, "uid": uid});
        }
        let claims = json!({
            "aud": audiences,
            "exp": now + seconds,
            "iat": now,
            "iss": self.issuer,
            "jti": super::strategy::new_uid(),
            "kubernetes.io": k8s,
            "nbf": now,
            "sub": subject.username(),
        });
        let header = json!({"alg": "ES256", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = signer
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .ok()?;
        Some(format!("{signing_input}.{}", b64(sig.as_ref())))
    }

    /// The service account a token speaks for, if it is genuine, current and meant for us.
    pub fn verify(&self, token: &str, now: i64) -> Result<Subject, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let decode = |p: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .map_err(|_| TokenError::Malformed)
        };
        let header: Value =
            serde_json::from_slice(&decode(h)?).map_err(|_| TokenError::Malformed)?;
        if header["alg"] != "ES256" {
            return Err(TokenError::Signature);
        }
        let sig = decode(s)?;
        let signed = format!("{h}.{c}");
        let genuine = self.verifiers.iter().any(|k| {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, k)
                .verify(signed.as_bytes(), &sig)
                .is_ok()
        });
        if !genuine {
            return Err(TokenError::Signature);
        }
        let claims: Value =
            serde_json::from_slice(&decode(c)?).map_err(|_| TokenError::Malformed)?;
        let iss = claims["iss"].as_str().unwrap_or("");
        if iss != self.issuer {
            return Err(TokenError::Issuer(iss.to_string()));
        }
        let exp = claims["exp"].as_i64().ok_or(TokenError::Malformed)?;
        let nbf = claims["nbf"].as_i64().unwrap_or(0);
        // Upstream allows a minute of clock skew either way.
        if now > exp + 60 || now + 60 < nbf {
            return Err(TokenError::Expired);
        }
        let aud: Vec<&str> = match &claims["aud"] {
            Value::String(a) => vec![a.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !aud.iter().any(|a| self.audiences.iter().any(|b| b == a)) {
            return Err(TokenError::Audience);
        }
        let k8s = &claims["kubernetes.io"];
        let text = |v: &Value| v.as_str().map(str::to_string);
        let pod = match (text(&k8s["pod"]["name"]), text(&k8s["pod"]["uid"])) {
            (Some(n), Some(u)) => Some((n, u)),
            _ => None,
        };
        Ok(Subject {
            namespace: text(&k8s["namespace"]).ok_or(TokenError::Malformed)?,
            service_account: text(&k8s["serviceaccount"]["name"]).ok_or(TokenError::Malformed)?,
            uid: text(&k8s["serviceaccount"]["uid"]).unwrap_or_default(),
            pod,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let (k, p) = (dir.join("sa.key"), dir.join("sa.pub"));
        std::fs::write(&k, key.serialize_pem()).unwrap();
        std::fs::write(&p, key.public_key_pem()).unwrap();
        (k, p)
    }

    fn alice() -> Subject {
        Subject {
            namespace: "default".into(),
            service_account: "alice".into(),
            uid: "u-1".into(),
            pod: None,
        }
    }

    #[test]
    fn tokens_round_trip_and_name_their_service_account() {
        let dir = tempfile::tempdir().unwrap();
        let (k, p) = keys(dir.path());
        let issuer = "https://kubernetes.default.svc.cluster.local";
        let signer = Tokens::load(Some(&k), Some(&p), issuer).unwrap();
        let verifier = Tokens::load(None, Some(&p), issuer).unwrap();
        let token = signer.issue(&alice(), &[], 1000, 3600).unwrap();
        let who = verifier.verify(&token, 1100).unwrap();
        assert_eq!(who, alice());
        assert_eq!(who.username(), "system:serviceaccount:default:alice");
        assert!(matches!(
            verifier.verify(&token, 1000 + 3600 + 61),
            Err(TokenError::Expired)
        ));
        let other_aud = signer
            .issue(&alice(), &["vault".to_string()], 1000, 3600)
            .unwrap();
        assert!(matches!(
            verifier.verify(&other_aud, 1100),
            Err(TokenError::Audience)
        ));
    }

    #[test]
    fn forged_or_foreign_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (k, p) = keys(dir.path());
        let other = tempfile::tempdir().unwrap();
        let (k2, _) = keys(other.path());
        let ours = Tokens::load(Some(&k), Some(&p), "iss").unwrap();
        let theirs = Tokens::load(Some(&k2), None, "iss").unwrap();
        let token = theirs.issue(&alice(), &[], 1000, 3600).unwrap();
        assert!(matches!(
            ours.verify(&token, 1100),
            Err(TokenError::Signature)
        ));
        // A changed claim breaks the signature.
        let good = ours.issue(&alice(), &[], 1000, 3600).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let claims = b64(br#"{"iss":"iss","aud":["iss"],"exp":99999,"kubernetes.io":{"namespace":"kube-system","serviceaccount":{"name":"admin"}}}"#);
        let forged = format!("{}.{claims}.{}", parts[0], parts[2]);
        assert!(matches!(
            ours.verify(&forged, 1100),
            Err(TokenError::Signature)
        ));
        assert!(matches!(
            ours.verify("not-a-jwt", 1100),
            Err(TokenError::Malformed)
        ));
        let elsewhere = Tokens::load(Some(&k), None, "other-issuer").unwrap();
        let token = elsewhere
            .issue(&alice(), &["iss".into()], 1000, 3600)
            .unwrap();
        assert!(matches!(
            ours.verify(&token, 1100),
            Err(TokenError::Issuer(_))
        ));
    }
}
