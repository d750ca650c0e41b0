//! Bearer tokens on routes that can inject work.

use aegis_core::config::Secret;
use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// Whether `headers` carry `Authorization: Bearer <one of tokens>`. Each comparison
/// takes the same time whatever the caller sent, so a token cannot be guessed byte by
/// byte.
pub fn bearer_matches(headers: &HeaderMap, tokens: &[&Secret]) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
        })
    else {
        return false;
    };
    // Every token is compared, so the time does not tell which one matched.
    tokens.iter().fold(false, |matched, token| {
        matched | bool::from(given.as_bytes().ct_eq(token.expose().as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn only_a_bearer_of_a_known_token_matches() {
        let (a, b) = (Secret::new("token-a"), Secret::new("token-b"));
        assert!(bearer_matches(&headers("Bearer token-a"), &[&a, &b]));
        assert!(bearer_matches(&headers("bearer token-b"), &[&a, &b]));
        assert!(!bearer_matches(&headers("Bearer token-c"), &[&a, &b]));
        assert!(!bearer_matches(&headers("Basic token-a"), &[&a]));
        assert!(!bearer_matches(&headers("Bearer token-a"), &[]));
        assert!(!bearer_matches(&HeaderMap::new(), &[&a]));
    }
}
