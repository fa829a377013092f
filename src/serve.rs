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
