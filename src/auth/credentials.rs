//! Where a request's credentials come from, and when a cookie may be trusted.
//!
//! A token arrives as `Authorization: Bearer …`, as the HttpOnly session cookie, or (for
//! Socket.IO) in the handshake's `auth: {token}`. Browsers attach cookies to requests that
//! other sites trigger, so a cookie-authenticated state-changing request (or WebSocket
//! handshake) must come from our own origin: `Origin` must match the `Host` the request
//! was sent to (or a trusted origin), and `Sec-Fetch-Site` must not say `cross-site`.
//! A Bearer token cannot be attached by another site, so it needs no such check.

use axum::http::{HeaderMap, Method, header};
use axum_extra::extract::cookie::Cookie;

use crate::error::AppError;

/// Name of the HttpOnly session cookie.
pub const SESSION_COOKIE: &str = "eventsync_session";

/// How a token reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Bearer,
    Cookie,
    /// Socket.IO handshake `auth: {token}`.
    HandshakeAuth,
}

/// The token a request carries, if any. The Authorization header wins over the cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<(String, TokenSource)> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            return Some((token.trim().to_owned(), TokenSource::Bearer));
        }
    }
    session_cookie(headers).map(|token| (token, TokenSource::Cookie))
}

/// The session cookie's value, if present.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
        .find(|cookie| cookie.name() == SESSION_COOKIE && !cookie.value().is_empty())
        .map(|cookie| cookie.value().to_owned())
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Refuses a request that would be authenticated by our cookie but was sent from another
/// origin. `trusted` are extra origins (e.g. `https://events.example.org`).
pub fn check_same_origin(method: &Method, headers: &HeaderMap, trusted: &[String]) -> Result<(), AppError> {
    let cookie_authenticated = session_cookie(headers).is_some()
        && !matches!(token_from_headers(headers), Some((_, TokenSource::Bearer)));
    if !cookie_authenticated || !is_state_changing(method) {
        return Ok(());
    }
    cookie_origin_allowed(headers, trusted).then_some(()).ok_or(AppError::CrossOrigin)
}

/// Whether a cookie-carrying request comes from our own origin (or a trusted one).
///
/// Browsers send `Origin` on every cross-origin and every state-changing request. When
/// it is missing, a same-origin `Referer` or `Sec-Fetch-Site: same-origin` (or `none`,
/// a user's own navigation) must vouch for the request; without any of them it is
/// refused, since nothing shows it did not come from another site.
pub fn cookie_origin_allowed(headers: &HeaderMap, trusted: &[String]) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let ours = |origin: &str| {
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        (!host.is_empty() && origin_host.eq_ignore_ascii_case(host))
            || trusted.iter().any(|t| t.trim_end_matches('/').eq_ignore_ascii_case(origin))
    };
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return ours(origin);
    }
    if let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) {
        return ours(origin_of(referer));
    }
    matches!(headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()), Some("same-origin" | "none"))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let Some((scheme, rest)) = url.split_once("://") else { return "" };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &url[..scheme.len() + 3 + end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn bearer_wins_over_cookie() {
        let h = headers(&[("authorization", "Bearer abc"), ("cookie", "eventsync_session=xyz")]);
        assert_eq!(token_from_headers(&h), Some(("abc".into(), TokenSource::Bearer)));
        let h = headers(&[("cookie", "theme=dark; eventsync_session=xyz")]);
        assert_eq!(token_from_headers(&h), Some(("xyz".into(), TokenSource::Cookie)));
        assert_eq!(token_from_headers(&headers(&[("authorization", "Basic Zm9v")])), None);
    }

    #[test]
    fn cross_origin_cookie_posts_are_refused() {
        let cross = headers(&[
            ("cookie", "eventsync_session=xyz"),
            ("host", "chat.example.org"),
            ("origin", "https://evil.example.com"),
        ]);
        assert!(matches!(check_same_origin(&Method::POST, &cross, &[]), Err(AppError::CrossOrigin)));
        // Reading is harmless; a trusted origin is allowed.
        assert!(check_same_origin(&Method::GET, &cross, &[]).is_ok());
        assert!(check_same_origin(&Method::POST, &cross, &["https://evil.example.com".into()]).is_ok());
    }

    #[test]
    fn same_origin_and_bearer_requests_pass() {
        let same = headers(&[
            ("cookie", "eventsync_session=xyz"),
            ("host", "chat.example.org"),
            ("origin", "https://chat.example.org"),
        ]);
        assert!(check_same_origin(&Method::POST, &same, &[]).is_ok());
        let bearer = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "eventsync_session=xyz"),
            ("origin", "https://elsewhere.example"),
        ]);
        assert!(check_same_origin(&Method::DELETE, &bearer, &[]).is_ok());
    }

    #[test]
    fn without_origin_a_same_origin_referer_or_fetch_metadata_must_vouch() {
        let base = [("cookie", "eventsync_session=xyz"), ("host", "chat.example.org")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            check_same_origin(&Method::POST, &headers(&pairs), &[]).is_ok()
        };
        assert!(with(&[("referer", "https://chat.example.org/chat?room=1")]));
        assert!(with(&[("sec-fetch-site", "same-origin")]));
        assert!(!with(&[("referer", "http://evil.example/")]));
        assert!(!with(&[("referer", "http://chat.example.org.evil.example/x")]));
        assert!(!with(&[("referer", "not a url")]));
        assert!(!with(&[]), "no Origin, Referer or Sec-Fetch-Site");
        assert_eq!(origin_of("https://a.b:8080/x?y#z"), "https://a.b:8080");
    }

    #[test]
    fn fetch_metadata_without_origin_is_respected() {
        let h = headers(&[("cookie", "eventsync_session=xyz"), ("sec-fetch-site", "cross-site")]);
        assert!(check_same_origin(&Method::POST, &h, &[]).is_err());
        let h = headers(&[("cookie", "eventsync_session=xyz"), ("origin", "null"), ("host", "a")]);
        assert!(check_same_origin(&Method::POST, &h, &[]).is_err());
    }
}
