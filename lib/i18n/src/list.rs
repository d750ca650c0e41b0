//! A list as a sentence reads it: "a, b and c" / "a、b 和 c".

use crate::{Lang, t};

/// `items` joined the way `lang` lists things.
pub fn list<S: AsRef<str>>(lang: Lang, items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [head @ .., last] => {
            let separator = t!(lang, "list-separator");
            let head: Vec<&str> = head.iter().map(AsRef::as_ref).collect();
            t!(
                lang,
                "list-and",
                head = head.join(&separator),
                last = last.as_ref()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_each_language_writes_them() {
        assert_eq!(list(Lang::En, &["a"]), "a");
        assert_eq!(list(Lang::En, &["a", "b", "c"]), "a, b and c");
        assert_eq!(list(Lang::ZhCn, &["a", "b", "c"]), "a、b 和 c");
        assert_eq!(list::<&str>(Lang::ZhCn, &[]), "");
    }
}
