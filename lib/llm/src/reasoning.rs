//! Separates `<think>...</think>` blocks (DeepSeek-R1, QwQ, GLM served raw) from the
//! visible text, also when a tag is split across streamed chunks.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

/// A streaming splitter of visible text and `<think>` reasoning.
#[derive(Debug, Default)]
pub struct ThinkFilter {
    inside: bool,
    /// Text held back because it may be the start of a tag.
    pending: String,
}

impl ThinkFilter {
    /// Feeds a chunk; returns (visible, reasoning) text that is certain so far.
    pub fn push(&mut self, chunk: &str) -> (String, String) {
        self.pending.push_str(chunk);
        let mut visible = String::new();
        let mut thought = String::new();
        loop {
            let tag = if self.inside { CLOSE } else { OPEN };
            if let Some(at) = self.pending.find(tag) {
                let before: String = self.pending.drain(..at).collect();
                self.pending.drain(..tag.len());
                if self.inside {
                    thought.push_str(&before);
                } else {
                    visible.push_str(&before);
                }
                self.inside = !self.inside;
                continue;
            }
            // Keep the longest suffix that could start the tag; emit the rest.
            let keep = partial_suffix(&self.pending, tag);
            let emit_to = self.pending.len() - keep;
            let out: String = self.pending.drain(..emit_to).collect();
            if self.inside {
                thought.push_str(&out);
            } else {
                visible.push_str(&out);
            }
            return (visible, thought);
        }
    }

    /// Flushes what was held back at the end of the stream. An unclosed `<think>`
    /// counts as reasoning: it never reaches the visible text.
    pub fn finish(&mut self) -> (String, String) {
        let rest = std::mem::take(&mut self.pending);
        if self.inside {
            (String::new(), rest)
        } else {
            (rest, String::new())
        }
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of `tag`.
fn partial_suffix(text: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| {
            text.len() >= n
                && text.is_char_boundary(text.len() - n)
                && tag.starts_with(&text[text.len() - n..])
        })
        .unwrap_or(0)
}

/// Splits a whole text into (visible, reasoning).
pub fn split_think(text: &str) -> (String, String) {
    let mut f = ThinkFilter::default();
    let (mut visible, mut thought) = f.push(text);
    let (v, t) = f.finish();
    visible.push_str(&v);
    thought.push_str(&t);
    (visible, thought)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_text() {
        let (v, t) = split_think("<think>hmm</think>{\"a\":1}");
        assert_eq!(v, "{\"a\":1}");
        assert_eq!(t, "hmm");
    }

    #[test]
    fn tags_split_across_chunks() {
        let mut f = ThinkFilter::default();
        let mut v = String::new();
        let mut t = String::new();
        for chunk in ["he", "llo <th", "ink>sec", "ret </thi", "nk> world <", "b>"] {
            let (a, b) = f.push(chunk);
            v.push_str(&a);
            t.push_str(&b);
        }
        let (a, b) = f.finish();
        v.push_str(&a);
        t.push_str(&b);
        assert_eq!(v, "hello  world <b>");
        assert_eq!(t, "secret ");
    }

    #[test]
    fn unclosed_think_stays_hidden() {
        let (v, t) = split_think("ok<think>never closed");
        assert_eq!(v, "ok");
        assert_eq!(t, "never closed");
    }
}
