//! The accept loop of kwb's HTTP servers (builtin etcd, apiserver): TLS when configured, then
//! HTTP/1.1 or HTTP/2 on each connection. Each connection's verified client certificate chain
//! is turned into an identity once and attached to its requests.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::CertificateDer;
use tokio::net::TcpListener;

/// Serves `router` on `listener` until the task is dropped. `identify` sees the peer's
/// certificates (None on plain HTTP or when the client sent none); its result is available to
/// handlers as `axum::Extension<I>`.
pub async fn serve<I, F>(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: axum::Router,
    identify: F,
) where
    I: Clone + Send + Sync + 'static,
    F: Fn(Option<&[CertificateDer<'static>]>) -> I + Clone + Send + 'static,
{
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        let identify = identify.clone();
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let result = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => {
                        let who = identify(stream.get_ref().1.peer_certificates());
                        let service = TowerToHyperService::new(router.layer(axum::Extension(who)));
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(%peer, "TLS handshake failed: {e}");
                        return;
                    }
                },
                None => {
                    let who = identify(None);
                    let service = TowerToHyperService::new(router.layer(axum::Extension(who)));
                    builder.serve_connection(TokioIo::new(tcp), service).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}

/// Who may connect to a TLS server, by client certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientCerts {
    /// Anyone; no certificate asked for.
    None,
    /// A certificate signed by the CA is checked when given; clients without one get in
    /// (and the handlers decide).
    Optional,
    /// Only clients with a certificate signed by the CA.
    Required,
}

/// A TLS server config from PEM files: `cert`/`key` (each with the flag that named it, for
/// the error), client certificates checked against `ca`; ALPN h2 then http/1.1.
pub fn tls_config(
    cert: (&str, &std::path::Path),
    key: (&str, &std::path::Path),
    ca: Option<(&str, &std::path::Path)>,
    clients: ClientCerts,
) -> anyhow::Result<std::sync::Arc<rustls::ServerConfig>> {
    use anyhow::Context;
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = CertificateDer::pem_file_iter(cert.1)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading --{} {}", cert.0, cert.1.display()))?;
    let key_der = PrivateKeyDer::from_pem_file(key.1)
        .with_context(|| format!("reading --{} {}", key.0, key.1.display()))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match (ca, clients) {
        (_, ClientCerts::None) => builder.with_no_client_auth(),
        (None, ClientCerts::Required) => {
            anyhow::bail!("client certificates are required but no CA file was given")
        }
        (None, ClientCerts::Optional) => builder.with_no_client_auth(),
        (Some((flag, path)), clients) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(path)
                .with_context(|| format!("reading --{flag} {}", path.display()))?
            {
                roots.add(c?)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = match clients {
                ClientCerts::Required => verifier.build()?,
                _ => verifier.allow_unauthenticated().build()?,
            };
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key_der)?;
    // gRPC clients (grpc-go ≥ 1.67) insist on h2 by ALPN; curl, kubectl and probes use either.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
