use std::sync::LazyLock;

use serde::Serialize;
use serde_json::Value;

/// Feishu's limit on a card's request body (30 KB), measured here on the `content`
/// string as it travels: JSON-escaped inside the request body.
pub const CARD_LIMIT: usize = 30 * 1024;

/// Header colour of a card (Feishu's `template`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// blue
    Blue,
    /// wathet (light blue)
    Wathet,
    /// turquoise
    Turquoise,
    /// green: resolved alerts, successful analyses
    Green,
    /// yellow
    Yellow,
    /// orange: firing warnings
    Orange,
    /// red: firing critical alerts
    Red,
    /// carmine
    Carmine,
    /// violet
    Violet,
    /// purple
    Purple,
    /// indigo
    Indigo,
    /// grey: failures and notes
    Grey,
    /// default (no colour)
    Default,
}

impl Template {
    /// The `template` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blue => "blue",
            Self::Wathet => "wathet",
            Self::Turquoise => "turquoise",
            Self::Green => "green",
            Self::Yellow => "yellow",
            Self::Orange => "orange",
            Self::Red => "red",
            Self::Carmine => "carmine",
            Self::Violet => "violet",
            Self::Purple => "purple",
            Self::Indigo => "indigo",
            Self::Grey => "grey",
            Self::Default => "default",
        }
    }
}

/// One body element of a card.
#[derive(Debug, Clone, PartialEq)]
pub enum Element {
    /// Card markdown (bold, links, `<at id=all></at>`, ...).
    Markdown(String),
    /// Small grey markdown, for footers.
    Note(String),
    /// A horizontal rule.
    Hr,
    /// An uploaded image (`image_key` from [`crate::Client::upload_image`]) with its
    /// alternative text.
    Image {
        /// The `img_...` key.
        key: String,
        /// What it shows, for screen readers and clients that cannot show it.
        alt: String,
    },
    /// A button that calls back with `value` when clicked (a `card.action.trigger`
    /// event, through the long connection or the callback URL).
    Button {
        /// Its words.
        text: String,
        /// `primary`, `danger` or `default`.
        kind: &'static str,
        /// What the callback carries in `event.action.value`.
        value: serde_json::Value,
    },
}

impl Element {
    /// Bytes this element adds to [`Card::encoded_len`] (with its separating comma),
    /// so a renderer can fill a card up to [`CARD_LIMIT`] without re-encoding it.
    pub fn encoded_len(&self) -> usize {
        // The element's JSON sits inside the content string, which is itself a JSON
        // string in the request body: the empty shells are measured once, and the text
        // is added twice escaped, without serialising it.
        static SHELLS: LazyLock<[usize; 3]> = LazyLock::new(|| {
            let shell = |e: Element| encoded_len(&json_string(&e)) - 1;
            [
                shell(Element::Markdown(String::new())),
                shell(Element::Note(String::new())),
                shell(Element::Hr),
            ]
        });
        match self {
            Self::Markdown(text) => SHELLS[0] + twice_escaped_len(text),
            Self::Note(text) => SHELLS[1] + twice_escaped_len(text),
            Self::Hr => SHELLS[2],
            // Few and small: measured by encoding them.
            Self::Image { .. } | Self::Button { .. } => encoded_len(&json_string(self)) - 1,
        }
    }
}

/// An element as card JSON: `{"tag":"markdown","content":...}`, with
/// `"text_size":"notation"` for notes, or `{"tag":"hr"}`.
impl Serialize for Element {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            content: Option<&'a str>,
            tag: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            text_size: Option<&'static str>,
        }
        let (content, tag, text_size) = match self {
            Self::Markdown(content) => (Some(content.as_str()), "markdown", None),
            Self::Note(content) => (Some(content.as_str()), "markdown", Some("notation")),
            Self::Hr => (None, "hr", None),
            Self::Image { key, alt } => {
                return serde_json::json!({
                    "tag": "img",
                    "img_key": key,
                    "alt": {"tag": "plain_text", "content": alt},
                })
                .serialize(serializer);
            }
            Self::Button { text, kind, value } => {
                return serde_json::json!({
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": text},
                    "type": kind,
                    "behaviors": [{"type": "callback", "value": value}],
                })
                .serialize(serializer);
            }
        };
        Json {
            content,
            tag,
            text_size,
        }
        .serialize(serializer)
    }
}

/// An interactive card in Feishu card JSON 2.0: a coloured header and a body of
/// elements. Built with the methods below; `unknown properties are errors in 2.0`, so
/// the JSON is produced here and nowhere else.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// Header title.
    pub title: String,
    /// Header subtitle.
    pub subtitle: Option<String>,
    /// Header colour.
    pub template: Template,
    /// Body elements in order.
    pub elements: Vec<Element>,
}

impl Card {
    /// A card with a title and colour and an empty body.
    pub fn new(title: impl Into<String>, template: Template) -> Self {
        Self {
            title: title.into(),
            subtitle: None,
            template,
            elements: Vec::new(),
        }
    }

    /// Sets the subtitle.
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into());
        self
    }

    /// Appends a markdown element.
    pub fn markdown(mut self, content: impl Into<String>) -> Self {
        self.elements.push(Element::Markdown(content.into()));
        self
    }

    /// Appends a small grey footer line.
    pub fn note(mut self, content: impl Into<String>) -> Self {
        self.elements.push(Element::Note(content.into()));
        self
    }

    /// Appends a horizontal rule.
    pub fn hr(mut self) -> Self {
        self.elements.push(Element::Hr);
        self
    }

    /// Appends an uploaded image.
    pub fn image(mut self, key: impl Into<String>, alt: impl Into<String>) -> Self {
        self.elements.push(Element::Image {
            key: key.into(),
            alt: alt.into(),
        });
        self
    }

    /// Appends a callback button.
    pub fn button(
        mut self,
        text: impl Into<String>,
        kind: &'static str,
        value: serde_json::Value,
    ) -> Self {
        self.elements.push(Element::Button {
            text: text.into(),
            kind,
            value,
        });
        self
    }

    /// The card JSON 2.0 object.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a card holds only strings and booleans")
    }

    /// The card serialised as a string: the `content` field of a send or reply.
    pub fn to_content(&self) -> String {
        json_string(self)
    }

    /// Size of the content as it travels in the request body (JSON-escaped).
    pub fn encoded_len(&self) -> usize {
        encoded_len(&self.to_content())
    }

    /// Text of every markdown element joined by newlines, for the console and tests.
    pub fn text(&self) -> String {
        self.elements
            .iter()
            .filter_map(|e| match e {
                Element::Markdown(s) | Element::Note(s) => Some(s.as_str()),
                Element::Image { alt, .. } => Some(alt.as_str()),
                Element::Button { text, .. } => Some(text.as_str()),
                Element::Hr => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The card JSON 2.0 object, written straight from the card's fields: building a
/// `serde_json::Value` first copied every string of a 30 KB card once more. Fields are
/// in the order a `Value` (sorted keys) wrote them, so the text is unchanged.
impl Serialize for Card {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a> {
            body: Body<'a>,
            config: CardConfig<'a>,
            header: Header<'a>,
            schema: &'static str,
        }
        #[derive(Serialize)]
        struct Body<'a> {
            elements: &'a [Element],
        }
        #[derive(Serialize)]
        struct CardConfig<'a> {
            summary: Summary<'a>,
            update_multi: bool,
        }
        #[derive(Serialize)]
        struct Summary<'a> {
            content: &'a str,
        }
        #[derive(Serialize)]
        struct Header<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            subtitle: Option<PlainText<'a>>,
            template: &'static str,
            title: PlainText<'a>,
        }
        #[derive(Serialize)]
        struct PlainText<'a> {
            content: &'a str,
            tag: &'static str,
        }
        let plain = |content| PlainText {
            content,
            tag: "plain_text",
        };
        Json {
            body: Body {
                elements: &self.elements,
            },
            config: CardConfig {
                summary: Summary {
                    content: &self.title,
                },
                update_multi: true,
            },
            header: Header {
                subtitle: self.subtitle.as_deref().map(plain),
                template: self.template.as_str(),
                title: plain(&self.title),
            },
            schema: "2.0",
        }
        .serialize(serializer)
    }
}

/// `value` as JSON text; card parts hold only strings and booleans, so it cannot fail.
fn json_string(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("a card holds only strings and booleans")
}

/// Length of `s` once written as a JSON string literal, without allocating it.
pub(crate) fn encoded_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Length of `s` escaped as a JSON string and the result escaped again (text inside
/// the card JSON inside the request body), without the quotes.
fn twice_escaped_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' => 4,
            b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 3,
            0..=0x1f => 7,
            _ => 1,
        })
        .sum()
}

/// Escapes text from outside (label values, annotations, model output) so card
/// markdown shows it literally: no accidental bold, links, mentions or tags.
pub fn escape_markdown(text: &str) -> String {
    if !text.contains(|c| ESCAPES.iter().any(|(plain, _)| *plain == c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match ESCAPES.iter().find(|(plain, _)| *plain == c) {
            Some((_, entity)) => out.push_str(entity),
            None => out.push(c),
        }
    }
    out
}

/// The characters card markdown would read as markup, and the entities that show them.
const ESCAPES: [(char, &str); 7] = [
    ('<', "&lt;"),
    ('>', "&gt;"),
    ('*', "&#42;"),
    ('~', "&#126;"),
    ('[', "&#91;"),
    (']', "&#93;"),
    ('`', "&#96;"),
];

/// The inverse of [`escape_markdown`], for showing card text where no markdown renders
/// (the console sink).
pub fn unescape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match ESCAPES.iter().find(|(_, entity)| rest.starts_with(entity)) {
            Some((plain, entity)) => {
                out.push(*plain);
                rest = &rest[entity.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_inverts_escape() {
        let text = "a <b> *c* ~d~ [e](f) `g` & h &amp;";
        assert_eq!(unescape_markdown(&escape_markdown(text)), text);
    }

    #[test]
    fn card_is_json_2_0_with_coloured_header() {
        let card = Card::new("HighLatency (2)", Template::Red)
            .subtitle("firing")
            .markdown("**a**")
            .hr()
            .note("footer");
        let v: Value = serde_json::from_str(&card.to_content()).unwrap();
        assert_eq!(v["schema"], "2.0");
        assert_eq!(v["header"]["template"], "red");
        assert_eq!(v["header"]["title"]["content"], "HighLatency (2)");
        assert_eq!(v["header"]["subtitle"]["content"], "firing");
        let elements = v["body"]["elements"].as_array().unwrap();
        assert_eq!(elements.len(), 3);
        assert_eq!(elements[1]["tag"], "hr");
        assert_eq!(elements[2]["text_size"], "notation");
    }

    #[test]
    fn content_is_the_card_json_with_sorted_keys() {
        let card = Card::new("t", Template::Red)
            .subtitle("s")
            .markdown("a")
            .hr()
            .note("n");
        let expected = concat!(
            r#"{"body":{"elements":[{"content":"a","tag":"markdown"},{"tag":"hr"},"#,
            r#"{"content":"n","tag":"markdown","text_size":"notation"}]},"#,
            r#""config":{"summary":{"content":"t"},"update_multi":true},"#,
            r#""header":{"subtitle":{"content":"s","tag":"plain_text"},"template":"red","#,
            r#""title":{"content":"t","tag":"plain_text"}},"schema":"2.0"}"#
        );
        assert_eq!(card.to_content(), expected);
        assert_eq!(card.to_value().to_string(), expected);
        let bare = Card::new("t", Template::Green);
        assert!(!bare.to_content().contains("subtitle"));
    }

    #[test]
    fn encoded_len_matches_serde() {
        let s = "a\"b\\c\nd\u{1}é收到";
        assert_eq!(encoded_len(s), serde_json::to_string(s).unwrap().len());
        let card = Card::new("t\"", Template::Green).markdown("x\ny");
        assert_eq!(
            card.encoded_len(),
            serde_json::to_string(&card.to_content()).unwrap().len()
        );
    }

    #[test]
    fn element_len_adds_up() {
        let base = Card::new("t", Template::Red).markdown("first");
        let extra = Element::Markdown("second \"quoted\"\nline \\ \u{1} é".into());
        let mut grown = base.clone();
        grown.elements.push(extra.clone());
        assert_eq!(
            grown.encoded_len(),
            base.encoded_len() + extra.encoded_len()
        );
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(
            escape_markdown("<at id=all></at> **x** [a](b)"),
            "&lt;at id=all&gt;&lt;/at&gt; &#42;&#42;x&#42;&#42; &#91;a&#93;(b)"
        );
    }
}
