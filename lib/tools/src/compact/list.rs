//! Discovery results (label names, values, services, label sets): as many items as fit
//! the budget, then how many were left out.

use super::tokens::{Budget, estimate};

/// `title`, then the items comma-separated on as few lines as fit `budget` tokens, then
/// "... N more omitted" with `hint` when some did not fit (or `omitted` were cut earlier).
pub fn render(title: &str, items: &[String], omitted: usize, hint: &str, budget: usize) -> String {
    let mut out = Budget::new(budget);
    out.force(&format!("{title}: {} items", items.len() + omitted));
    let mut shown = 0;
    let mut line = String::new();
    let mut in_line = 0;
    let mut full = false;
    for item in items {
        // Each line stays short so the budget is spent line by line.
        if in_line > 0 && estimate(&line) > 60 {
            if !out.push(&line) {
                full = true;
                break;
            }
            shown += in_line;
            line.clear();
            in_line = 0;
        }
        if in_line > 0 {
            line.push_str(", ");
        }
        line.push_str(item);
        in_line += 1;
    }
    if !full && in_line > 0 && out.push(&line) {
        shown += in_line;
    }
    let left = items.len().saturating_sub(shown) + omitted;
    if left > 0 {
        out.force(&format!("... {left} more omitted: {hint}"));
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_say_how_many_did_not_fit() {
        let items: Vec<String> = (0..1000).map(|i| format!("service-{i}")).collect();
        let text = render("services", &items, 0, "filter by name", 200);
        assert!(text.starts_with("services: 1000 items"), "{text}");
        let shown = text
            .lines()
            .skip(1)
            .filter(|l| !l.starts_with("..."))
            .flat_map(|l| l.split(", "))
            .count();
        assert!(
            text.contains(&format!("... {} more omitted", 1000 - shown)),
            "{text}"
        );
        assert_eq!(render("x", &["a".into()], 0, "", 100), "x: 1 items\na\n");
    }
}
