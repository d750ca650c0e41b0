//! One redaction for whatever a peer says: applied where a backend's, Feishu's or a
//! model endpoint's text enters a report, a log line, a card, a prompt or an answer, so
//! a peer that echoes what it received (proxies and gateways answer 401 with the
//! `Authorization` they got) cannot carry a secret out.
//!
//! A [`Redactor`] masks every configured secret in the forms a request carries it:
//! plain, base64 (standard and URL-safe, padded or not, and inside a longer base64
//! value such as a basic-auth header), percent- and form-encoded; and anything that
//! looks like a credential whether configured or not: `Authorization`/`Cookie`-like
//! header values, `Bearer`/`Basic` values, `api_key=`/`token=`/`password=`-like
//! values, AWS access keys and private key blocks. [`mask_url`] masks the credentials
//! inside a URL, for printing configuration.

use std::fmt;
use std::sync::{Arc, LazyLock, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use regex::Regex;

use crate::config::Secret;

/// What a redacted value is replaced with.
pub const MASK: &str = "[REDACTED]";

/// Values shorter than this are not masked: they would mask ordinary words.
const MIN_SECRET: usize = 4;

/// The part of a configured value after a colon is masked on its own from this length
/// (shorter ones would mask ordinary words).
const MIN_PART: usize = 6;

/// A base64 fragment shorter than this is not masked on its own (see [`forms`]).
const MIN_FRAGMENT: usize = 8;

/// Masks secrets in text (module docs). Cheap to clone; `Debug` shows only how many
/// forms it masks, never a value.
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<Inner>,
}

/// The forms to mask: one search for them all, or (should the alternation not compile
/// within its size limit) each in turn.
struct Forms {
    all: Vec<String>,
    alternation: Option<Regex>,
}

#[derive(Default)]
struct Inner {
    /// The configured values (at least [`MIN_SECRET`] long), deduplicated.
    values: Vec<String>,
    /// Every form of every value, longest first, and one alternation of them all,
    /// built on first use (a function that never meets a peer's text never pays for it).
    forms: OnceLock<Forms>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("values", &self.inner.values.len())
            .finish_non_exhaustive()
    }
}

/// The credential patterns, compiled on first use: compiling them (case-insensitive,
/// Unicode-aware) took a third of a cold start, and a function that answers a health
/// check or rejects a request never needs them. Each is `(pattern, replacement)`.
static PATTERNS: LazyLock<Vec<(Regex, String)>> = LazyLock::new(|| {
    [
        (
            r"(?i)-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
            MASK.to_string(),
        ),
        // A header echoed as `Name: value`, `"name":"value"` or `Name=[value]`: the
        // whole value, to the end of the line or the closing quote (a cookie is several
        // `k=v;` pairs, an authorization a scheme and a value).
        (
            r#"(?i)\b((?:proxy-)?authorization|(?:set-)?cookie|x-api-key|api-key|x-auth-token|x-amz-security-token|x-goog-api-key|private-token)(["']?\s*[:=]\s*["']?)[^"'\r\n]+"#,
            format!("${{1}}${{2}}{MASK}"),
        ),
        (
            r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*",
            format!("$1 {MASK}"),
        ),
        // `key=value`, `key: value` and `"key": "value"`, as in a query string, a form,
        // JSON or a log line.
        (
            r#"(?i)((?:api[_-]?key|apikey|access[_-]?key|secret[_-]?key|client[_-]?secret|app[_-]?secret|secret|token|password|passwd|pwd|credentials?|auth|signature|sig|session[_-]?id)["']?\s*[:=]\s*["']?)[^\s"',;&}\[\]]+"#,
            format!("${{1}}{MASK}"),
        ),
        (r"\bAKIA[0-9A-Z]{16}\b", MASK.to_string()),
        (r"\b(?:sk|xox[abp])-[A-Za-z0-9\-]{16,}\b", MASK.to_string()),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("constant pattern"), r))
    .collect()
});

impl Redactor {
    /// A redactor of `values` (values shorter than 4 characters are ignored: they
    /// would mask ordinary words) and the credential patterns.
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        Self::default().with(values)
    }

    /// A redactor of `secrets`' values.
    pub fn from_secrets<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        Self::new(secrets.into_iter().map(|s| s.expose().to_string()))
    }

    /// This redactor and `values` too. A value of the form `scheme:credential` (the
    /// auth variables: `bearer:<token>`, `basic:<user>:<password>`) is masked whole
    /// and by each part after a colon, the parts a request carries.
    pub fn with(&self, values: impl IntoIterator<Item = String>) -> Self {
        let mut all = self.inner.values.clone();
        for value in values {
            let parts = value
                .match_indices(':')
                .map(|(i, _)| value[i + 1..].to_string())
                .filter(|part| part.len() >= MIN_PART)
                .collect::<Vec<_>>();
            all.extend(parts);
            all.push(value);
        }
        all.retain(|v| v.len() >= MIN_SECRET);
        all.sort();
        all.dedup();
        Self {
            inner: Arc::new(Inner {
                values: all,
                forms: OnceLock::new(),
            }),
        }
    }

    /// This redactor and the basic-auth credentials `user`/`password` too: the
    /// password, and `user:password`, whose base64 is what an `Authorization: Basic`
    /// header carries (and a peer echoes).
    pub fn with_basic(&self, user: &str, password: &str) -> Self {
        self.with([password.to_string(), format!("{user}:{password}")])
    }

    /// `text` with every secret masked.
    pub fn redact(&self, text: &str) -> String {
        let forms = self.forms();
        let mut out = match &forms.alternation {
            Some(re) => re.replace_all(text, MASK).into_owned(),
            None => forms
                .all
                .iter()
                .fold(text.to_string(), |acc, f| acc.replace(f.as_str(), MASK)),
        };
        for (re, replacement) in PATTERNS.iter() {
            if let std::borrow::Cow::Owned(o) = re.replace_all(&out, replacement.as_str()) {
                out = o;
            }
        }
        out
    }

    fn forms(&self) -> &Forms {
        self.inner.forms.get_or_init(|| {
            let mut all: Vec<String> = self.inner.values.iter().flat_map(|v| forms(v)).collect();
            all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
            all.dedup();
            // Literals only, longest first (the leftmost-first alternation then takes
            // the longest form at each place): it compiles to one substring search.
            let alternation = (!all.is_empty())
                .then(|| {
                    let pattern = all
                        .iter()
                        .map(|f| regex::escape(f))
                        .collect::<Vec<_>>()
                        .join("|");
                    regex::RegexBuilder::new(&pattern)
                        .size_limit(64 << 20)
                        .build()
                        .ok()
                })
                .flatten();
            Forms { all, alternation }
        })
    }
}

/// The forms `value` takes on the wire: itself, percent-encoded (upper- and lowercase
/// hex) and form-encoded, base64 in the four alphabets and paddings, and the part of
/// its base64 that stays the same wherever it sits in a longer encoded value (after
/// 0, 1 or 2 other bytes: `user:password`'s password, a token inside a JSON blob), when
/// that part is long enough not to match by chance.
fn forms(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut out = vec![value.to_string()];
    let percent = percent_encode(bytes);
    out.push(lower_hex_escapes(&percent));
    out.push(percent);
    out.push(url::form_urlencoded::byte_serialize(bytes).collect());
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(bytes));
    }
    for shift in 0..3usize {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(bytes);
        // Characters that depend on the bytes before (the first `ceil(8 * shift / 6)`)
        // or after (a last partial one) are left out.
        let first = (8 * shift).div_ceil(6);
        let last = 8 * shifted.len() / 6;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&shifted);
            if let Some(core) = encoded.get(first..last)
                && core.len() >= MIN_FRAGMENT
            {
                out.push(core.to_string());
            }
        }
    }
    out.retain(|f| f.len() >= MIN_SECRET);
    out
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%2F` as `%2f`, the rest untouched.
fn lower_hex_escapes(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut rest = percent;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let escape = rest.get(i..i + 3).unwrap_or(&rest[i..]);
        out.push_str(&escape.to_ascii_lowercase());
        rest = &rest[i + escape.len()..];
    }
    out.push_str(rest);
    out
}

/// Query parameters whose values are masked by [`mask_url`].
fn secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "auth",
        "signature",
        "sig",
        "credential",
        "ticket",
        "session",
    ]
    .iter()
    .any(|s| name.contains(s))
}

/// `raw` with the credentials inside it masked when it is a URL: the password of its
/// user info (the user name is kept, it says which account), and the values of query
/// parameters named like a secret (`api_key`, `token`, `access_key`, `sig`...).
/// Anything that is not a URL is returned as it is.
pub fn mask_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return raw.to_string();
    };
    if url.cannot_be_a_base() {
        return raw.to_string();
    }
    let mut changed = false;
    if url.password().is_some() {
        // Cannot fail: a URL that can be a base takes a password.
        let _ = url.set_password(Some(MASK));
        changed = true;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs.iter().any(|(k, _)| secret_param(k)) {
        let masked: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| {
                let v = if secret_param(&k) {
                    MASK.to_string()
                } else {
                    v
                };
                (k, v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(masked);
        changed = true;
    }
    if changed {
        // The brackets of the mask are escaped in a URL; show it as written.
        url.to_string().replace("%5BREDACTED%5D", MASK)
    } else {
        raw.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(["s3cr3t/value+1".to_string(), "ab".to_string()])
    }

    fn assert_masked(r: &Redactor, text: &str, leaked: &str) {
        let out = r.redact(text);
        assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        assert!(out.contains(MASK), "{out}");
    }

    #[test]
    fn a_configured_value_is_masked_plain() {
        let r = redactor();
        assert_masked(&r, "key s3cr3t/value+1 refused", "s3cr3t/value+1");
    }

    #[test]
    fn a_configured_value_is_masked_in_every_base64_form() {
        let r = redactor();
        let v = b"s3cr3t/value+1";
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(v);
            assert_masked(&r, &format!("got {encoded} here"), &encoded);
        }
    }

    #[test]
    fn a_value_inside_a_longer_base64_value_is_mostly_masked() {
        // The secret after 0, 1 or 2 other bytes (modulo 3): only the characters that
        // also encode the bytes around it stay.
        let r = Redactor::new(["correct-horse-battery".to_string()]);
        for prefix in ["", "u:", "us:", "use:"] {
            let blob = STANDARD.encode(format!("{prefix}correct-horse-battery;x"));
            let out = r.redact(&format!("got {blob} back"));
            let left = out.replace(MASK, "").len() - "got  back".len();
            assert!(left <= 12, "{prefix}: {left} characters left: {out}");
        }
    }

    #[test]
    fn a_basic_auth_pair_is_masked_as_its_header_carries_it() {
        let r = Redactor::default().with_basic("reader", "p@ss-w0rd");
        let header = STANDARD.encode("reader:p@ss-w0rd");
        // As a bare value (no header name, no scheme) too.
        assert_masked(&r, &format!("credentials {header} refused"), &header);
        assert_masked(&r, "user reader:p@ss-w0rd", "p@ss-w0rd");
    }

    #[test]
    fn an_auth_variable_is_masked_by_the_credential_it_holds() {
        let r = Redactor::new([
            "bearer:t0ken-1234".to_string(),
            "basic:reader:pw-5678".to_string(),
        ]);
        let header = STANDARD.encode("reader:pw-5678");
        let out = r.redact(&format!("got t0ken-1234 and {header}, pw-5678"));
        for leaked in ["t0ken-1234", header.as_str(), "pw-5678"] {
            assert!(!out.contains(leaked), "{leaked} leaked: {out}");
        }
    }

    #[test]
    fn a_configured_value_is_masked_url_encoded() {
        let r = redactor();
        for encoded in ["s3cr3t%2Fvalue%2B1", "s3cr3t%2fvalue%2b1"] {
            assert_masked(&r, &format!("GET /api?q={encoded}&x=1"), encoded);
        }
        let r = Redactor::new(["two words&more".to_string()]);
        assert_masked(&r, "q=two+words%26more", "two+words%26more");
    }

    #[test]
    fn header_like_values_are_masked() {
        let r = Redactor::default();
        for (text, leaked) in [
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9",
                "eyJhbGciOiJIUzI1NiJ9",
            ),
            ("authorization: tok-123", "tok-123"),
            (
                r#"{"error":"unauthorized","authorization":"Basic cmVhZGVyOnB3"}"#,
                "cmVhZGVyOnB3",
            ),
            ("Cookie: session=abc123; theme=dark", "abc123"),
            ("Set-Cookie: sid=zzz9; HttpOnly", "zzz9"),
            ("X-Api-Key: k-998877", "k-998877"),
            ("map[Authorization:[Bearer short1]]", "short1"),
        ] {
            assert_masked(&r, text, leaked);
        }
    }

    #[test]
    fn query_like_values_are_masked() {
        let r = Redactor::default();
        for (text, leaked) in [
            ("GET /q?api_key=k123&x=1", "k123"),
            ("GET /q?access_token=t456&x=1", "t456"),
            ("password=hunter22", "hunter22"),
            (r#"token: "abc123""#, "abc123"),
            ("AKIAABCDEFGHIJKLMNOP", "AKIAABCDEFGHIJKLMNOP"),
        ] {
            assert_masked(&r, text, leaked);
        }
        assert!(r.redact("GET /q?api_key=k123&x=1").ends_with("&x=1"));
    }

    #[test]
    fn ordinary_words_are_left_alone() {
        let r = Redactor::new(["ab".to_string(), "hunter2-long".to_string()]);
        for text in [
            "user=bob ab",
            "the token expired; log in again",
            "authorization failed for the request",
            "Basic auth is not configured",
            "rate(http_requests_total{job=\"api\"}[5m]) is up 3x at 08:43",
            "connection refused",
            "author: Ada",
        ] {
            assert_eq!(r.redact(text), text);
        }
    }

    #[test]
    fn debug_shows_no_value() {
        let r = Redactor::new(["hunter2-long".to_string()]);
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn urls_lose_their_password_and_secret_parameters() {
        assert_eq!(
            mask_url("http://reader:p%40ss@loki:3100/?tenant=a&api_key=k1"),
            "http://reader:[REDACTED]@loki:3100/?tenant=a&api_key=[REDACTED]"
        );
        assert_eq!(mask_url("http://prometheus:9090"), "http://prometheus:9090");
        assert_eq!(mask_url("1MiB"), "1MiB");
    }
}
