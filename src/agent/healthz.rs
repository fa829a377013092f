//! The secure port of a builtin API client: /healthz, /livez and /readyz over HTTPS with a
//! self-signed certificate made at start, as upstream's controller-manager and scheduler do
//! when given no serving certificate. Listens on loopback unless told otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Whether the process is healthy; flipped off when it cannot do its job.
#[derive(Clone, Default)]
pub struct Health(Arc<AtomicBool>);

impl Health {
    pub fn healthy() -> Health {
        Health(Arc::new(AtomicBool::new(true)))
    }

    pub fn set(&self, ok: bool) {
        self.0.store(ok, Ordering::Relaxed);
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Serves the health endpoints on `bind:port` until the task is dropped.
pub async fn serve(bind: &str, port: u16, who: &str, health: Health) -> anyhow::Result<()> {
    let tls = self_signed(who)?;
    let addr = format!("{bind}:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| {
            format!("cannot listen on {addr} (--secure-port): is another {who} running?")
        })?;
    let answer = move || {
        let health = health.clone();
        async move {
            if health.get() {
                (StatusCode::OK, "ok").into_response()
            } else {
                (StatusCode::INTERNAL_SERVER_ERROR, "unhealthy").into_response()
            }
        }
    };
    let router = axum::Router::new()
        .route("/healthz", axum::routing::get(answer.clone()))
        .route("/livez", axum::routing::get(answer.clone()))
        .route("/readyz", axum::routing::get(answer));
    tracing::info!(address = %addr, "serving /healthz securely");
    crate::serve::serve(listener, Some(tls), router, |_| ()).await;
    Ok(())
}

/// A TLS acceptor with a fresh self-signed certificate for 127.0.0.1 and localhost. Client
/// certificates are accepted but not required: health is no secret.
fn self_signed(who: &str) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let key = rcgen::KeyPair::generate().context("making a serving key")?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .context("naming the serving certificate")?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("{who}@{}", time::OffsetDateTime::now_utc().unix_timestamp()),
    );
    let cert = params.self_signed(&key).context("self-signing")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
