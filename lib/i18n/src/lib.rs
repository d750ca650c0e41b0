//! Aegis speaks the on-call chat's language: every text a person reads (cards, chat
//! replies, the engine's sentences, the report page and Markdown) comes from this
//! crate's message catalog, in English and Simplified Chinese.
//!
//! ```
//! use aegis_i18n::{Lang, t};
//! assert_eq!(t!(Lang::En, "alert-more", count = 3), "… and 3 more");
//! assert_eq!(t!(Lang::ZhCn, "alert-more", count = 3), "……另有 3 条");
//! ```

mod catalog;
mod check;
mod duration;
mod lang;
mod list;

pub use catalog::{FILES, ids, messages, text};
pub use check::{english_phrases, untranslated};
pub use duration::duration;
pub use fluent_bundle::{FluentArgs, FluentValue};
pub use lang::{ALL, Lang, is_han};
pub use list::list;

/// The catalog's message `id` (a string literal) in a [`Lang`], with named arguments:
/// `t!(lang, "alert-more", count = 3)`. Strings and numbers both go in; numbers
/// select plurals (`{ $count -> [one] ... *[other] ... }`).
#[macro_export]
macro_rules! t {
    ($lang:expr, $id:literal) => {
        $crate::text($lang, $id, None)
    };
    ($lang:expr, $id:literal, $($key:ident = $value:expr),+ $(,)?) => {{
        let mut args = $crate::FluentArgs::new();
        $( args.set(stringify!($key), $crate::FluentValue::from($value)); )+
        $crate::text($lang, $id, Some(&args))
    }};
}

#[cfg(test)]
mod tests;
