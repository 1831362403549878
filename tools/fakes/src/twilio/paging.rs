//! Twilio list pages: `{"meta": {...}, "<key>": [...]}` with `PageSize` (default 50, at most
//! 1000) and `Page` (0-based), as in the Studio v2 and Events v1 specs.

use serde_json::{Value, json};

use super::param;
use crate::util::Incoming;

/// `(PageSize, Page)` of a list request: 50 and 0 by default, the size within 1..=1000.
pub(super) fn page_params(q: &[(String, String)]) -> (usize, usize) {
    let page_size = param(q, "PageSize")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let page = param(q, "Page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    (page_size, page)
}

/// One page of `items` under `key`. `filters` are the list's own query parameters, repeated
/// in the page URLs so that `next_page_url` can be followed as is.
pub(super) fn page(
    base_url: &str,
    inc: &Incoming,
    key: &str,
    items: Vec<Value>,
    filters: &[(&str, String)],
) -> Value {
    let (page_size, page) = page_params(&inc.query_pairs());
    let has_next = items.len() > (page + 1) * page_size;
    let shown: Vec<Value> = items
        .into_iter()
        .skip(page * page_size)
        .take(page_size)
        .collect();
    let page_url = |p: usize| {
        let mut pairs: Vec<(&str, String)> = filters.to_vec();
        pairs.push(("PageSize", page_size.to_string()));
        pairs.push(("Page", p.to_string()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{base_url}{}?{query}", inc.path)
    };
    let mut body = json!({ "meta": meta(key, page, page_size, has_next, page_url) });
    if let Some(obj) = body.as_object_mut() {
        obj.insert(key.to_owned(), Value::Array(shown));
    }
    body
}

/// The `meta` of page `page` (`page_size` items) of the list under `key`; `page_url(p)` is
/// the URL of page `p`.
pub(super) fn meta(
    key: &str,
    page: usize,
    page_size: usize,
    has_next: bool,
    page_url: impl Fn(usize) -> String,
) -> Value {
    json!({
        "page": page,
        "page_size": page_size,
        "first_page_url": page_url(0),
        "previous_page_url": if page > 0 { Value::String(page_url(page - 1)) } else { Value::Null },
        "next_page_url": if has_next { Value::String(page_url(page + 1)) } else { Value::Null },
        "url": page_url(page),
        "key": key,
    })
}
