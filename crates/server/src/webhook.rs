//! Webhook delivery: a background task that POSTs due deliveries of the push outbox to
//! each court's URL, signed with HMAC-SHA256 (`X-Leian-Signature: sha256=<hex>`) and
//! carrying `Idempotency-Key: leian-push-<id>` (the same on every attempt, so receivers
//! drop repeats), and records the outcome: delivered, or retried with exponential backoff,
//! or given up after the last attempt. The state lives in SQLite, so a restarted server
//! resumes where the last one stopped; a crash after a receiver answered but before the
//! outcome was stored means one more delivery with the same idempotency key.
//!
//! The client is a plain HTTP/1.1 POST over a TCP socket (`http://` only, to keep the
//! build free of a TLS stack): for https put a TLS-terminating proxy in front.

use crate::state::AppState;
use leian_push::signature::signature_header;
use leian_push::{now_ms, DueDelivery};
use std::io::ErrorKind;
use std::time::Duration;
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(10);

/// `Ok((host:port, path))` of an `http://` URL, or why not.
pub(crate) fn check_url(url: &str) -> Result<(String, String), String> {
    let url = url.trim();
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("webhook URL {url:?}: only http:// is supported (put a TLS terminator in front for https)")
    })?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() || host.contains(['@', ' ']) {
        return Err(format!("webhook URL {url:?}: no host"));
    }
    let host = if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    Ok((host, path.to_string()))
}

/// Writes all of `buf` (readiness + `try_write`, so tokio needs no `io-util`).
async fn write_all(s: &TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads what is there (0 at end of stream).
async fn read_some(s: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        s.readable().await?;
        match s.try_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// POSTs one delivery; `Ok(status)` when the receiver answered.
async fn post(d: &DueDelivery) -> Result<u16, String> {
    let (host, path) = check_url(&d.url)?;
    let body = d.body.as_bytes();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\
         X-Leian-Signature: {}\r\nIdempotency-Key: leian-push-{}\r\nX-Leian-Attempt: {}\r\n\r\n",
        body.len(),
        signature_header(&d.secret, body),
        d.push_id,
        d.attempts + 1
    );
    let exchange = async {
        let s = TcpStream::connect(&host)
            .await
            .map_err(|e| format!("connecting to {host}: {e}"))?;
        write_all(&s, head.as_bytes())
            .await
            .map_err(|e| format!("sending: {e}"))?;
        write_all(&s, body)
            .await
            .map_err(|e| format!("sending: {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(2).any(|w| w == b"\r\n") {
            let n = read_some(&s, &mut chunk)
                .await
                .map_err(|e| format!("reading the answer: {e}"))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let line = String::from_utf8_lossy(&buf);
        line.split(' ')
            .nth(1)
            .and_then(|c| c.trim().parse::<u16>().ok())
            .ok_or_else(|| "no HTTP status in the answer".to_string())
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {} s", TIMEOUT.as_secs()))?
}

/// Delivers due webhooks until the runtime stops; woken by new pushes, else polls.
pub(crate) async fn deliver_forever(state: AppState) {
    let mut tick = state.inner.push_tick.subscribe();
    loop {
        tick.borrow_and_update();
        let inner = state.inner.clone();
        let due =
            tokio::task::spawn_blocking(move || inner.pushes.store().due_deliveries(now_ms(), 32))
                .await;
        let due = match due {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                tracing::warn!("webhook outbox: {e}");
                Vec::new()
            }
            Err(e) => {
                tracing::warn!("webhook outbox worker: {e}");
                Vec::new()
            }
        };
        for d in &due {
            let outcome = post(d).await;
            let inner = state.inner.clone();
            let (id, attempts) = (d.push_id, d.attempts);
            let recorded = tokio::task::spawn_blocking(move || {
                let store = inner.pushes.store();
                match outcome {
                    Ok(status) if (200..300).contains(&status) => store.mark_delivered(id),
                    other => {
                        let error = match other {
                            Ok(status) => format!("HTTP {status}"),
                            Err(e) => e,
                        };
                        let next = inner.pushes.options().next_retry_ms(now_ms(), attempts + 1);
                        store.mark_failed(id, &error, next)
                    }
                }
            })
            .await;
            if let Ok(Err(e)) = recorded {
                tracing::warn!("webhook outbox: recording push {id}: {e}");
            }
        }
        if !due.is_empty() {
            continue;
        }
        let inner = state.inner.clone();
        let next = tokio::task::spawn_blocking(move || inner.pushes.store().next_delivery_at())
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let wait = next.map_or(1000, |t| (t - now_ms()).clamp(0, 1000));
        if wait > 0 {
            let _ = tokio::time::timeout(Duration::from_millis(wait as u64), tick.changed()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn only_plain_http_urls_with_a_host() {
        assert_eq!(
            check_url("http://127.0.0.1:9000/hook").expect("ok"),
            ("127.0.0.1:9000".to_string(), "/hook".to_string())
        );
        assert_eq!(
            check_url("http://example.org").expect("ok"),
            ("example.org:80".to_string(), "/".to_string())
        );
        assert!(check_url("https://example.org/").is_err());
        assert!(check_url("http:///x").is_err());
    }
}
