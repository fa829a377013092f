//! Health probes: an HTTP(S) GET or a TCP connect, with a timeout. HTTPS probes present a client
//! certificate, since every kwb listener requires one.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Bytes;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::launch::{Probe, ProbeTls};

/// A probe ready to run: TLS material loaded once, not on every probe.
pub struct Prober {
    probe: Probe,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
}

impl Prober {
    pub fn new(probe: Probe) -> Result<Prober, String> {
        let tls = match &probe {
            Probe::Http { tls: Some(t), .. } => Some(tls_connector(t)?),
            _ => None,
        };
        Ok(Prober { probe, tls })
    }

    /// Runs the probe once. Ok carries a short detail for the pane ("200 OK in 3 ms").
    pub async fn check(&self, timeout: Duration) -> Result<String, String> {
        let start = Instant::now();
        match tokio::time::timeout(timeout, self.check_inner()).await {
            Ok(Ok(detail)) => Ok(format!("{detail} in {} ms", start.elapsed().as_millis())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
        }
    }

    async fn check_inner(&self) -> Result<String, String> {
        match &self.probe {
            Probe::Tcp { addr } => TcpStream::connect(addr)
                .await
                .map(|_| format!("tcp {addr} open"))
                .map_err(|e| format!("tcp {addr}: {e}")),
            Probe::Http { addr, path, .. } => {
                let tcp = TcpStream::connect(addr)
                    .await
                    .map_err(|e| format!("{addr}: {e}"))?;
                let (status, body) = match &self.tls {
                    Some((connector, name)) => {
                        let stream = connector
                            .connect(name.clone(), tcp)
                            .await
                            .map_err(|e| format!("TLS to {addr}: {e}"))?;
                        get(stream, addr, path).await?
                    }
                    None => get(tcp, addr, path).await?,
                };
                if !status.is_success() {
                    let body = String::from_utf8_lossy(&body);
                    let body = body.trim();
                    return Err(format!("GET {path}: {status} {}", first_line(body)));
                }
                // etcd answers 200 with {"health":"false"} while it has no leader or an alarm.
                if path == "/health" && body.starts_with(b"{") {
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    if v["health"] == "false" {
                        return Err(format!("GET {path}: health false {}", v["reason"]));
                    }
                }
                Ok(format!("GET {path} {}", status.as_u16()))
            }
        }
    }
}

fn first_line(s: &str) -> &str {
    let l = s.lines().next().unwrap_or("");
    &l[..l.len().min(120)]
}

async fn get<S>(
    stream: S,
    addr: &std::net::SocketAddr,
    path: &str,
) -> Result<(hyper::StatusCode, Bytes), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let resp = crate::tlsclient::get(stream, &addr.to_string(), path, "kwb-supervisor").await?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?
        .to_bytes();
    Ok((status, body))
}

fn tls_connector(
    t: &ProbeTls,
) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), String> {
    let client = t.client.as_ref().map(|(c, k)| (c.as_path(), k.as_path()));
    let connector = crate::tlsclient::connector(t.ca.as_deref(), client)?;
    let name = ServerName::try_from(t.server_name.clone())
        .map_err(|e| format!("server name {:?}: {e}", t.server_name))?;
    Ok((connector, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn serve_once(response: &'static str) -> std::net::SocketAddr {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            s.write_all(response.as_bytes()).await.unwrap();
        });
        addr
    }

    fn http(addr: std::net::SocketAddr, path: &str) -> Prober {
        Prober::new(Probe::Http {
            addr,
            path: path.into(),
            tls: None,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn http_200_is_healthy() {
        let addr = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        let r = http(addr, "/healthz").check(Duration::from_secs(2)).await;
        assert!(r.as_ref().unwrap().starts_with("GET /healthz 200"), "{r:?}");
    }

    #[tokio::test]
    async fn http_500_and_etcd_health_false_are_unhealthy() {
        let addr =
            serve_once("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 9\r\n\r\netcd down")
                .await;
        let r = http(addr, "/readyz").check(Duration::from_secs(2)).await;
        assert!(r.unwrap_err().contains("500"));
        let body = r#"{"health":"false","reason":"NOSPACE"}"#;
        let resp: &'static str = Box::leak(
            format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_boxed_str(),
        );
        let addr = serve_once(resp).await;
        let r = http(addr, "/health").check(Duration::from_secs(2)).await;
        assert!(r.unwrap_err().contains("NOSPACE"));
    }

    #[tokio::test]
    async fn refused_and_silent_servers_fail_in_time() {
        let free = crate::ports::free_port().unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{free}").parse().unwrap();
        assert!(
            http(addr, "/healthz")
                .check(Duration::from_secs(2))
                .await
                .is_err()
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent = l.local_addr().unwrap();
        let r = http(silent, "/healthz")
            .check(Duration::from_millis(200))
            .await;
        assert!(r.unwrap_err().contains("no answer"));
        let tcp = Prober::new(Probe::Tcp { addr: silent }).unwrap();
        assert!(tcp.check(Duration::from_secs(1)).await.is_ok());
    }
}
