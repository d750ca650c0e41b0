//! Text cut to a size for messages and tool outputs.

/// `text` cut to at most `max` characters, marked when cut.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}
