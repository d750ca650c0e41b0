//! The languages Aegis speaks, and how one is chosen: a tag a person or a header
//! names, or the script a question is written in.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A language every message of the catalog exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// English (`en`), what callers that name no language get.
    #[default]
    En,
    /// Simplified Chinese (`zh-CN`).
    ZhCn,
}

/// Every language, in the order the catalog lists them.
pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

impl Lang {
    /// The BCP 47 tag (`en`, `zh-CN`), as reports, requests and settings write it.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }

    /// The language a BCP 47 tag names, or `None` for one Aegis does not speak: `en` and
    /// any English (`en-US`, `en_GB`), `zh` and Simplified Chinese (`zh-CN`, `zh-Hans`,
    /// `zh-SG`), in any letter case. Traditional Chinese (`zh-TW`, `zh-Hant`) is not
    /// Simplified Chinese, so it is `None`.
    pub fn parse(tag: &str) -> Option<Self> {
        let id: unic_langid::LanguageIdentifier = tag.trim().replace('_', "-").parse().ok()?;
        match id.language.as_str() {
            "en" => Some(Self::En),
            "zh" => {
                let traditional = id.script.is_some_and(|s| s.as_str() == "Hant")
                    || (id.script.is_none()
                        && id
                            .region
                            .is_some_and(|r| matches!(r.as_str(), "TW" | "HK" | "MO")));
                (!traditional).then_some(Self::ZhCn)
            }
            _ => None,
        }
    }

    /// The language an `Accept-Language` header prefers among those Aegis speaks
    /// (RFC 9110 §12.5.4: the highest `q`, the first listed on a tie; `q=0` refuses),
    /// or `None` when it names none of them. `*` names none in particular.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Self::parse) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The language `text` is written in: Chinese when Han characters carry at least
    /// a third of its letters (a Han character counted as three Latin letters, about a
    /// word's worth), else English. Service and metric names are Latin in both, so a
    /// Chinese question that names `checkout` and `5xx` is still Chinese.
    pub fn of_text(text: &str) -> Self {
        let (mut han, mut latin) = (0usize, 0usize);
        for c in text.chars() {
            if is_han(c) {
                han += 3;
            } else if c.is_ascii_alphabetic() {
                latin += 1;
            }
        }
        if han > 0 && han * 3 >= (han + latin) {
            Self::ZhCn
        } else {
            Self::En
        }
    }
}

/// A CJK unified ideograph (the common blocks; enough to tell Chinese from English).
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| format!("`{s}` is not a language Aegis speaks (en, zh-CN)"))
    }
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.tag())
    }
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let tag = String::deserialize(d)?;
        tag.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_their_language_in_any_spelling() {
        for tag in ["en", "EN", "en-US", "en_GB", " en "] {
            assert_eq!(Lang::parse(tag), Some(Lang::En), "{tag}");
        }
        for tag in ["zh", "zh-CN", "zh_cn", "zh-Hans", "zh-Hans-CN", "zh-SG"] {
            assert_eq!(Lang::parse(tag), Some(Lang::ZhCn), "{tag}");
        }
        for tag in ["zh-TW", "zh-Hant", "zh-HK", "fr", "", "not a tag"] {
            assert_eq!(Lang::parse(tag), None, "{tag}");
        }
    }

    #[test]
    fn accept_language_picks_the_highest_weight_aegis_speaks() {
        let cases = [
            ("zh-CN,zh;q=0.9,en;q=0.8", Some(Lang::ZhCn)),
            ("en-US,en;q=0.9,zh-CN;q=0.8", Some(Lang::En)),
            ("fr-FR, zh;q=0.5, en;q=0.4", Some(Lang::ZhCn)),
            ("en;q=0.2, zh-CN;q=0.7", Some(Lang::ZhCn)),
            ("zh-CN;q=0, en", Some(Lang::En)),
            ("zh-TW, fr", None),
            ("*", None),
            ("", None),
            ("en;q=x", None),
        ];
        for (header, want) in cases {
            assert_eq!(Lang::from_accept_language(header), want, "{header}");
        }
    }

    #[test]
    fn a_question_s_language_is_its_script() {
        for q in [
            "train-ticket 的用户反馈请求失败或变慢，请分析根因",
            "qwen 最近30分钟 checkout 为什么 5xx",
            "支付失败",
        ] {
            assert_eq!(Lang::of_text(q), Lang::ZhCn, "{q}");
        }
        for q in [
            "why is checkout returning 5xx in the last 30 minutes",
            "checkout 5xx",
            "",
            "why did ts-order-service slow down at 14:00 (订单)",
        ] {
            assert_eq!(Lang::of_text(q), Lang::En, "{q}");
        }
    }

    #[test]
    fn serde_writes_and_reads_the_tag() {
        assert_eq!(
            serde_json::to_string(&Lang::ZhCn).expect("serialize"),
            "\"zh-CN\""
        );
        assert_eq!(
            serde_json::from_str::<Lang>("\"zh-hans\"").expect("parse"),
            Lang::ZhCn
        );
        let err = serde_json::from_str::<Lang>("\"fr\"").expect_err("fr");
        assert!(err.to_string().contains("en, zh-CN"), "{err}");
    }
}
