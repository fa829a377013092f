//! Lists: selectors, `limit` + `continue` paging over one consistent etcd snapshot, and
//! `resourceVersion` ("" or "0": the newest; `resourceVersionMatch=Exact`: that revision).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::Server;
use super::rest::{json_response, percent_decode, query_param, to_table};
use super::selector::Selectors;
use super::status::ApiError;
use super::storage::PageRequest;
use crate::kinds::Kind;

/// Where the next page starts: the snapshot's revision and the first key not yet read.
/// Clients treat the token as opaque.
#[derive(serde::Serialize, serde::Deserialize)]
struct Continue {
    rv: i64,
    start: String,
}

fn encode_continue(c: &Continue) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(c).expect("a continue token serialises"))
}

fn decode_continue(token: &str) -> Result<Continue, ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "invalid continue token {token:?}: list again without it"
        ))
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

pub async fn list(
    server: &Server,
    kind: &'static Kind,
    ns: Option<&str>,
    query: &str,
    table: bool,
) -> Result<Response, ApiError> {
    let selectors = Selectors::from_query(kind, query)?;
    // Objects served under another version than stored are decoded on the way (as filtered
    // ones are), to change their apiVersion.
    let converting = super::crds::needs_conversion(kind);
    let filtering = !selectors.is_empty();
    let decoding = filtering || converting;
    let limit: i64 = match query_param(query, "limit") {
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        None => 0,
    }
    .max(0);

    let mut req = PageRequest::default();
    match query_param(query, "continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let c = decode_continue(&percent_decode(token))?;
            req.revision = Some(c.rv);
            req.start = Some(c.start.into_bytes());
        }
        None => {
            let rv = query_param(query, "resourceVersion").unwrap_or("");
            if query_param(query, "resourceVersionMatch") == Some("Exact") {
                req.revision = Some(rv.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version {rv:?}"))
                })?);
            }
        }
    }

    let started = std::time::Instant::now();
    let mut items = Vec::new();
    let (revision, next, remaining) = loop {
        // With a selector a page may match fewer than `limit`: read on until it is full.
        req.limit = if limit > 0 {
            (limit - items.len() as i64).max(if filtering { 100 } else { 1 })
        } else {
            0
        };
        let page = server.storage.list_page(kind, ns, &req).await?;
        // etcd's header tells its newest revision, not the one read: the snapshot is the
        // first page's.
        let snapshot = *req.revision.get_or_insert(page.revision);
        let mut last_key = None;
        let mut taken_all = true;
        let count = page.items.len();
        for (i, stored) in page.items.into_iter().enumerate() {
            if limit > 0 && items.len() as i64 == limit {
                taken_all = false;
                last_key = Some((stored.key, count - i));
                break;
            }
            let key = stored.key.clone();
            // Filtering decodes the object; it is kept so a table need not decode it again.
            if decoding {
                let mut object = stored.object()?;
                super::crds::served_as(kind, &mut object);
                if selectors.matches(&object) {
                    items.push((stored, Some(object)));
                }
            } else {
                items.push((stored, None));
            }
            last_key = Some((key, 0));
        }
        let full = limit > 0 && items.len() as i64 >= limit;
        match last_key {
            // Stopped inside the page: the next page starts at the first key not taken.
            Some((key, left)) if !taken_all => {
                break (snapshot, Some(key), page.remaining + left as i64);
            }
            Some((mut key, _)) if page.more => {
                key.push(0);
                if full {
                    break (snapshot, Some(key), page.remaining);
                }
                req.start = Some(key);
            }
            _ => break (snapshot, None, 0),
        }
    };

    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if let Some(key) = next {
        metadata["continue"] = encode_continue(&Continue {
            rv: revision,
            start: String::from_utf8_lossy(&key).into_owned(),
        })
        .into();
        if !filtering {
            metadata["remainingItemCount"] = remaining.into();
        }
    }
    if table {
        let include = query_param(query, "includeObject").unwrap_or("Metadata");
        // Tables leave managedFields out unless the whole object is asked for: nobody reads
        // them there, and they are often half of an object.
        let whole_objects = include == "Object";
        let objects = items
            .into_iter()
            .map(|(s, decoded)| match decoded {
                Some(mut o) => {
                    if !whole_objects && let Some(m) = o["metadata"].as_object_mut() {
                        m.remove("managedFields");
                    }
                    Ok(o)
                }
                None if whole_objects => s.object(),
                None => s.object_without_managed_fields(),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut t = to_table(kind, &objects, revision, include);
        t["metadata"] = metadata;
        return Ok(json_response(StatusCode::OK, &t));
    }
    // The items go out as stored, with their resourceVersion spliced in: no parsing.
    let mut body = format!(
        r#"{{"kind":"{}List","apiVersion":"{}","metadata":{},"items":["#,
        kind.kind,
        kind.api_version(),
        metadata
    )
    .into_bytes();
    for (i, (stored, decoded)) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        match decoded {
            Some(o) if converting => body.extend_from_slice(o.to_string().as_bytes()),
            _ => body.extend_from_slice(&stored.json()?),
        }
    }
    body.extend_from_slice(b"]}");
    let response = (StatusCode::OK, [("content-type", "application/json")], body).into_response();
    tracing::debug!(
        resource = kind.resource,
        ms = started.elapsed().as_millis() as u64,
        "listed"
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let t = encode_continue(&Continue {
            rv: 42,
            start: "/registry/pods/default/b\u{0}".into(),
        });
        let c = decode_continue(&t).unwrap();
        assert_eq!(
            (c.rv, c.start.as_str()),
            (42, "/registry/pods/default/b\u{0}")
        );
        assert!(decode_continue("not a token").is_err());
    }
}
