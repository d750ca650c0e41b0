//! Log lines to templates, so lines that differ only in ids, numbers
//! and timestamps count as one kind of event.

use std::sync::LazyLock;

use regex::Regex;

use aegis_tools::logline;

static TRACE_IDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(trace_?id|span_?id)\b[\s:=]+\S+").expect("a valid constant regex")
});

/// The line with its variable parts masked: trace and span ids dropped, every token
/// holding a digit or looking like a hex id becomes `*`; cut to 160 characters. A
/// structured (JSON) line is read for what it says ([`logline::message`]).
pub fn template(line: &str) -> String {
    match logline::message(line) {
        Some(text) => mask(&text),
        None => mask(line),
    }
}

fn mask(line: &str) -> String {
    let line = TRACE_IDS.replace_all(line, "");
    let mut out = String::with_capacity(line.len().min(200));
    for token in line.split_whitespace() {
        if out.len() >= 160 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let variable = token.chars().any(|c| c.is_ascii_digit())
            || (token.len() >= 16 && token.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        if variable {
            out.push('*');
        } else {
            out.push_str(token);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_structured_line_is_read_for_its_message_and_error() {
        let started = template(
            r#"{"http.req.id":"fc488aaa-165f-4927","message":"TraceID: fe39 SpanID: 105c Request started","session":"0f82"}"#,
        );
        let complete = template(
            r#"{"http.req.id":"35f06401-fb3a-426e","message":"TraceID: d7b7 SpanID: 048c request complete","session":"a15d"}"#,
        );
        // Glued to the next field, both last words were masked: one template for two
        // events that a failing request tells apart.
        assert_eq!(started, "Request started");
        assert_eq!(complete, "request complete");
        // The order of the fields and their other values do not matter.
        assert_eq!(
            template(
                r#"{"severity":"info","msg":"Request started","timestamp":"2022-08-22T05:18:16Z"}"#
            ),
            started
        );
        assert_eq!(
            template(
                r#"{"level":"error","msg":"failed to charge card","error":"rpc error: code = Unavailable desc = connection refused 10.0.3.7:50051"}"#
            ),
            "failed to charge card rpc error: code = Unavailable desc = connection refused *"
        );
        // Not an object with a message: templated as text.
        assert_eq!(template(r#"{"count": 3}"#), "{\"count\": *");
        assert_eq!(template("{broken json 42"), "{broken json *");
    }

    #[test]
    fn templates_mask_ids_and_numbers() {
        let a = template("08:43:05.1 ERROR c.Foo#12 TraceID: abc SpanID: def [order 42 not found]");
        let b =
            template("08:44:09.9 ERROR c.Foo#12 TraceID: 123 SpanID: 456 [order 977 not found]");
        assert_eq!(a, b);
        assert!(a.contains("not found"));
    }
}
