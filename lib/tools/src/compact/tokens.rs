//! Token counting for compaction budgets.
//!
//! Method: an estimate shaped like byte-pair encoders (cl100k/o200k, Qwen, GLM) split
//! text, chosen over shipping a tokenizer's vocabulary. Letters count one token per
//! four (a run of 1..=4 letters is one token), digits one per three (those
//! tokenizers split numbers into groups of up to three digits), every other visible
//! ASCII character one token, every non-ASCII character one token, whitespace
//! nothing (it merges into the next word) except before a digit, where those
//! tokenizers keep it as a token of its own. On log lines, PromQL and numbers this
//! over-counts compared with `cl100k_base`, so a budget met here is met there; the
//! plain `chars / 4` rule under-counts numeric text and is not used.

/// Estimated tokens of `text` (see the module doc for the method).
pub fn estimate(text: &str) -> usize {
    let mut tokens = 0;
    let mut letters = 0usize;
    let mut digits = 0usize;
    let mut after_space = false;
    let flush = |letters: &mut usize, digits: &mut usize, tokens: &mut usize| {
        *tokens += letters.div_ceil(4) + digits.div_ceil(3);
        *letters = 0;
        *digits = 0;
    };
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            if digits > 0 {
                flush(&mut letters, &mut digits, &mut tokens);
            }
            letters += 1;
        } else if c.is_ascii_digit() {
            if letters > 0 {
                flush(&mut letters, &mut digits, &mut tokens);
            }
            if after_space {
                tokens += 1;
            }
            digits += 1;
        } else {
            flush(&mut letters, &mut digits, &mut tokens);
            if !c.is_whitespace() {
                tokens += 1;
            }
        }
        after_space = c.is_whitespace();
    }
    flush(&mut letters, &mut digits, &mut tokens);
    tokens
}

/// Lines added while they fit a token budget; the rest are counted so the output can
/// say what it left out.
#[derive(Debug)]
pub struct Budget {
    left: usize,
    out: String,
    skipped: usize,
}

impl Budget {
    /// A budget of `tokens`.
    pub fn new(tokens: usize) -> Self {
        Self {
            left: tokens,
            out: String::new(),
            skipped: 0,
        }
    }

    /// Adds `line` (and a newline) if it fits, else counts it as skipped. Returns
    /// whether it was added. Once one line is skipped, later lines are skipped too, so
    /// the output keeps its priority order.
    pub fn push(&mut self, line: &str) -> bool {
        let cost = estimate(line) + 1;
        if self.skipped > 0 || cost > self.left {
            self.skipped += 1;
            return false;
        }
        self.left -= cost;
        self.out.push_str(line);
        self.out.push('\n');
        true
    }

    /// Adds `line` regardless of the budget (headers and the closing note).
    pub fn force(&mut self, line: &str) {
        self.left = self.left.saturating_sub(estimate(line) + 1);
        self.out.push_str(line);
        self.out.push('\n');
    }

    /// How many lines did not fit.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Tokens still free.
    pub fn left(&self) -> usize {
        self.left
    }

    /// The text so far.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_counts_words_numbers_and_symbols() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("error"), 2); // 5 letters: two groups of four
        assert_eq!(estimate("1234567"), 3); // 3 + 3 + 1 digits
        assert_eq!(estimate("a=1"), 3);
        assert_eq!(estimate("  two words "), 3); // "two" 1, "words" 2
        assert_eq!(estimate("n 12"), 3); // the space before a number is a token
        assert_eq!(estimate("é"), 1);
    }

    #[test]
    fn budget_keeps_order_and_counts_the_rest() {
        let mut b = Budget::new(10);
        assert!(b.push("one two"));
        assert!(!b.push("a very long line that cannot fit in what is left of it"));
        assert!(!b.push("x"), "nothing after a skipped line");
        assert_eq!(b.skipped(), 2);
        b.force("... 2 more");
        assert!(b.finish().ends_with("... 2 more\n"));
    }
}
