//! Time phrases in a chat question, in Chinese and English, turned into an absolute
//! range in the configured zone and removed from the question:
//!
//! - relative: `最近30分钟`, `过去2小时`, `近一天`, `最近半小时`, `last 2h`, `past 30 minutes`, `last hour`
//! - since: `今天14:00以来`, `14点以来`, `从昨天23点开始`, `since 14:00`, `since yesterday 9pm`
//! - ranges: `昨晚23点到今天1点`, `今天10:00-11:30`, `yesterday 23:00-01:00`,
//!   `from 14:00 to 15:00`, `between 2pm and 3pm`
//!
//! A clock time without a day means the most recent such time; a range's end without
//! a day follows its start (the next day if it would otherwise come first).
//! Without a phrase the range is the last 15 minutes.

use std::sync::LazyLock;

use aegis_core::report::TimeRange;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use regex::{Captures, Regex};

/// The range when the question names none.
pub const DEFAULT_MINUTES: i64 = 15;

/// A question with its time phrase taken out.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The absolute range.
    pub range: TimeRange,
    /// The question without the phrase.
    pub rest: String,
    /// The phrase as written, when there was one.
    pub phrase: Option<String>,
}

/// A phrase that names an impossible range; the user is told why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhraseError {
    /// The range ends before it starts.
    #[error("the time range \"{0}\" ends before it starts")]
    Backwards(String),
    /// The range starts in the future.
    #[error("the time range \"{0}\" starts in the future")]
    Future(String),
    /// A zero or absurd length.
    #[error("the time range \"{0}\" has no length")]
    Empty(String),
}

impl PhraseError {
    /// What is wrong, in `lang`.
    pub fn words(&self, lang: aegis_i18n::Lang) -> String {
        use aegis_i18n::t;
        match self {
            Self::Backwards(p) => t!(lang, "chat-range-backwards", phrase = p.as_str()),
            Self::Future(p) => t!(lang, "chat-range-future", phrase = p.as_str()),
            Self::Empty(p) => t!(lang, "chat-range-empty", phrase = p.as_str()),
        }
    }
}

const DAY: &str = r"今天|今日|今晚|今早|昨天|昨日|昨晚|前天|today|yesterday|tonight";
const PART: &str = r"上午|下午|晚上|早上|凌晨|中午|傍晚";
const TIME: &str = r"\d{1,2}(?:[:：]\d{2}(?:\s*[ap]m)?|\s*点(?:\s*半|\s*\d{1,2}\s*分?)?|\s*[ap]m)";

fn point() -> String {
    format!(r"(?:({DAY})\s*)?(?:({PART})\s*)?({TIME})")
}

static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let p = point();
    Regex::new(&format!(
        r"(?i)(?:从|自|\bfrom\s+|\bbetween\s+)?{p}\s*(?:到|至|-|–|~|～|\bto\b|\buntil\b|\btill\b|\band\b)\s*{p}"
    ))
    .expect("constant regex")
});

static SINCE_ZH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:从|自)?{}\s*(?:以来|之后|以后|开始|起)",
        point()
    ))
    .expect("constant regex")
});

static SINCE_EN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)\bsince\s+{}", point())).expect("constant regex"));

static RELATIVE_ZH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:最近|过去|近)\s*(\d+|[零一二两三四五六七八九十半]+)\s*个?\s*(分钟|分|小时|钟头|天|日|mins?|m|h|d)(?:以内|之内|内)?",
    )
    .expect("constant regex")
});

static RELATIVE_EN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(?:in|over|for|during)\s+the\s+)?(?:last|past)\s*(\d+)?\s*(minutes?|mins?|m|hours?|hrs?|h|days?|d)\b",
    )
    .expect("constant regex")
});

/// Finds the first time phrase in `text`, resolves it against `now` in `tz`, and
/// returns the range and the text without it; the last 15 minutes when there is none.
pub fn extract(text: &str, now: DateTime<Utc>, tz: Tz) -> Result<Extracted, PhraseError> {
    let found = [
        (&*RANGE, Kind::Range),
        (&*SINCE_ZH, Kind::Since),
        (&*SINCE_EN, Kind::Since),
        (&*RELATIVE_ZH, Kind::Relative),
        (&*RELATIVE_EN, Kind::Relative),
    ]
    .into_iter()
    .find_map(|(re, kind)| {
        re.captures_iter(text)
            .find_map(|c| resolve(kind, &c, now, tz).map(|r| (c.get(0).map(|m| m.range()), r)))
    });
    let Some((Some(span), range)) = found else {
        return Ok(Extracted {
            range: TimeRange::last(now, DEFAULT_MINUTES),
            rest: tidy(text),
            phrase: None,
        });
    };
    let phrase = text[span.clone()].to_string();
    let range = range.map_err(|e| e(phrase.clone()))?;
    let rest = tidy(&format!("{} {}", &text[..span.start], &text[span.end..]));
    Ok(Extracted {
        range,
        rest,
        phrase: Some(phrase),
    })
}

#[derive(Clone, Copy)]
enum Kind {
    Range,
    Since,
    Relative,
}

type Resolved = Result<TimeRange, fn(String) -> PhraseError>;

/// `None` when the match is not a usable phrase after all (an invalid clock time).
fn resolve(kind: Kind, c: &Captures<'_>, now: DateTime<Utc>, tz: Tz) -> Option<Resolved> {
    match kind {
        Kind::Relative => {
            let n = number(c.get(1).map(|m| m.as_str()).unwrap_or("1"))?;
            let unit = c.get(2)?.as_str().to_lowercase();
            let minutes = match unit.as_str() {
                u if u.starts_with('h') || u == "小时" || u == "钟头" => n * 60.0,
                u if u.starts_with('d') || u == "天" || u == "日" => n * 1440.0,
                _ => n,
            };
            if !(1.0..=60.0 * 24.0 * 90.0).contains(&minutes) {
                return Some(Err(PhraseError::Empty));
            }
            Some(Ok(TimeRange {
                start: now - Duration::seconds((minutes * 60.0) as i64),
                end: now,
            }))
        }
        Kind::Since => {
            let p = Point::read(c, 1, None)?;
            let start = p.most_recent(now, tz)?;
            if start >= now {
                return Some(Err(PhraseError::Future));
            }
            Some(Ok(TimeRange { start, end: now }))
        }
        Kind::Range => {
            let a = Point::read(c, 1, None)?;
            let inherited = c.get(4).is_none().then(|| c.get(2)).flatten();
            let b = Point::read(c, 4, inherited.map(|m| m.as_str()))?;
            let today = now.with_timezone(&tz).date_naive();
            let (start, end) = match (a.day, b.day) {
                (Some(da), Some(db)) => (a.at(today + da, tz)?, b.at(today + db, tz)?),
                (Some(da), None) => {
                    let start = a.at(today + da, tz)?;
                    let mut end = b.at(today + da, tz)?;
                    if end <= start {
                        end = b.at(today + da + Duration::days(1), tz)?;
                    }
                    (start, end)
                }
                (None, Some(db)) => {
                    let end = b.at(today + db, tz)?;
                    let mut start = a.at(today + db, tz)?;
                    if start >= end {
                        start = a.at(today + db - Duration::days(1), tz)?;
                    }
                    (start, end)
                }
                (None, None) => {
                    let mut day = today;
                    if b.at(day, tz)? > now && a.at(day, tz)? > now {
                        day -= Duration::days(1);
                    }
                    let end = b.at(day, tz)?;
                    let mut start = a.at(day, tz)?;
                    if start >= end {
                        start = a.at(day - Duration::days(1), tz)?;
                    }
                    (start, end)
                }
            };
            if start >= end {
                return Some(Err(PhraseError::Backwards));
            }
            if start >= now {
                return Some(Err(PhraseError::Future));
            }
            Some(Ok(TimeRange {
                start,
                end: end.min(now),
            }))
        }
    }
}

/// A clock time with an optional day and part of day.
struct Point {
    day: Option<Duration>,
    time: NaiveTime,
}

impl Point {
    /// Reads the point whose day, part and time are capture groups `first..first+3`;
    /// without a part of day of its own it takes `inherited` (`下午3点到5点`).
    fn read(c: &Captures<'_>, first: usize, inherited: Option<&str>) -> Option<Self> {
        let day_word = c.get(first).map(|m| m.as_str().to_lowercase());
        let part = c.get(first + 1).map(|m| m.as_str()).or(inherited);
        let (mut hour, minute, ampm) = clock(c.get(first + 2)?.as_str())?;
        let day = day_word.as_deref().map(|d| match d {
            "昨天" | "昨日" | "昨晚" | "yesterday" => Duration::days(-1),
            "前天" => Duration::days(-2),
            _ => Duration::zero(),
        });
        let afternoon = matches!(part, Some("下午" | "晚上" | "傍晚"));
        let tonight = matches!(day_word.as_deref(), Some("今晚" | "昨晚" | "tonight"));
        match ampm {
            Some(true) if hour < 12 => hour += 12,
            Some(false) if hour == 12 => hour = 0,
            None if afternoon && hour < 12 => hour += 12,
            // 昨晚1点 is the small hours; 昨晚8点 is 20:00.
            None if tonight && (5..12).contains(&hour) => hour += 12,
            None if part == Some("中午") && hour < 5 => hour += 12,
            _ => {}
        }
        Some(Self {
            day,
            time: NaiveTime::from_hms_opt(hour, minute, 0)?,
        })
    }

    fn at(&self, date: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
        let local = date.and_time(self.time);
        let t = tz.from_local_datetime(&local);
        t.earliest()
            .or_else(|| t.latest())
            .map(|t| t.with_timezone(&Utc))
    }

    /// On its day, or without one the most recent such time at or before `now`.
    fn most_recent(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&tz).date_naive();
        match self.day {
            Some(d) => self.at(today + d, tz),
            None => {
                let t = self.at(today, tz)?;
                if t > now {
                    self.at(today - Duration::days(1), tz)
                } else {
                    Some(t)
                }
            }
        }
    }
}

/// `23:00`, `23点`, `14点30分`, `14点半`, `2pm`, `2:30 pm` -> (hour, minute, pm?).
fn clock(s: &str) -> Option<(u32, u32, Option<bool>)> {
    let lower = s.to_lowercase();
    let ampm = if lower.ends_with("pm") {
        Some(true)
    } else if lower.ends_with("am") {
        Some(false)
    } else {
        None
    };
    let digits: Vec<u32> = lower
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    let hour = *digits.first()?;
    let minute = if lower.contains('半') {
        30
    } else {
        digits.get(1).copied().unwrap_or(0)
    };
    if hour > 23 || minute > 59 || (ampm.is_some() && !(1..=12).contains(&hour)) {
        return None;
    }
    Some((hour, minute, ampm))
}

/// `30`, `半` (0.5), `两`, `十五`, `二十` -> a number.
fn number(s: &str) -> Option<f64> {
    if let Ok(n) = s.parse::<f64>() {
        return Some(n);
    }
    if s == "半" {
        return Some(0.5);
    }
    let digit = |c: char| {
        "零一二三四五六七八九"
            .chars()
            .position(|d| d == c)
            .map(|p| p as f64)
            .or((c == '两').then_some(2.0))
    };
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [c] if *c == '十' => Some(10.0),
        [c] => digit(*c),
        ['十', u] => Some(10.0 + digit(*u)?),
        [t, '十'] => Some(digit(*t)? * 10.0),
        [t, '十', u] => Some(digit(*t)? * 10.0 + digit(*u)?),
        _ => None,
    }
}

/// Collapses whitespace and drops punctuation left dangling at the ends.
fn tidy(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .trim_matches(|c: char| c.is_whitespace() || ",，。.:：;；、".contains(c))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-25 10:30 in Shanghai (02:30 UTC).
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 2, 30, 0).unwrap()
    }

    fn sh(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn phrases_resolve_to_absolute_ranges() {
        let now = now();
        let ago = |m: i64| now - Duration::minutes(m);
        #[rustfmt::skip]
        let table: Vec<(&str, DateTime<Utc>, DateTime<Utc>, &str)> = vec![
            ("最近30分钟 checkout 为什么 5xx", ago(30), now, "checkout 为什么 5xx"),
            ("checkout 最近 30 分钟内 为什么 5xx", ago(30), now, "checkout 为什么 5xx"),
            ("过去2小时 订单服务慢", ago(120), now, "订单服务慢"),
            ("最近半小时 支付失败", ago(30), now, "支付失败"),
            ("近一天 错误率", ago(1440), now, "错误率"),
            ("最近两个小时 延迟", ago(120), now, "延迟"),
            ("昨晚23点到今天1点 checkout 5xx", sh(2026, 11, 24, 23, 0), sh(2026, 11, 25, 1, 0), "checkout 5xx"),
            ("昨天23:00到今天01:00 发生了什么", sh(2026, 11, 24, 23, 0), sh(2026, 11, 25, 1, 0), "发生了什么"),
            ("14:00以来 为什么慢", sh(2026, 11, 24, 14, 0), now, "为什么慢"),
            ("今天9:00以来 为什么慢", sh(2026, 11, 25, 9, 0), now, "为什么慢"),
            ("9点半以来 为什么慢", sh(2026, 11, 25, 9, 30), now, "为什么慢"),
            ("今天上午8点到9点 checkout", sh(2026, 11, 25, 8, 0), sh(2026, 11, 25, 9, 0), "checkout"),
            ("昨天下午3点到5点 checkout", sh(2026, 11, 24, 15, 0), sh(2026, 11, 24, 17, 0), "checkout"),
            ("why is checkout failing, last 2h", ago(120), now, "why is checkout failing"),
            ("in the last 30 minutes checkout 5xx", ago(30), now, "checkout 5xx"),
            ("past hour latency", ago(60), now, "latency"),
            ("last 3 days errors", ago(3 * 1440), now, "errors"),
            ("since 09:00 checkout 5xx", sh(2026, 11, 25, 9, 0), now, "checkout 5xx"),
            ("since 14:00 checkout 5xx", sh(2026, 11, 24, 14, 0), now, "checkout 5xx"),
            ("since yesterday 9pm errors", sh(2026, 11, 24, 21, 0), now, "errors"),
            ("yesterday 23:00-01:00 checkout", sh(2026, 11, 24, 23, 0), sh(2026, 11, 25, 1, 0), "checkout"),
            ("from 08:00 to 09:15 checkout", sh(2026, 11, 25, 8, 0), sh(2026, 11, 25, 9, 15), "checkout"),
            ("between 2pm and 3pm yesterday checkout", sh(2026, 11, 24, 14, 0), sh(2026, 11, 24, 15, 0), "yesterday checkout"),
            ("checkout 为什么 5xx", ago(15), now, "checkout 为什么 5xx"),
            ("last deploy broke checkout", ago(15), now, "last deploy broke checkout"),
        ];
        for (text, start, end, rest) in table {
            let got = extract(text, now, chrono_tz::Asia::Shanghai)
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((got.range.start, got.range.end), (start, end), "{text}");
            assert_eq!(got.rest, rest, "{text}");
        }
    }

    #[test]
    fn the_zone_is_the_configured_one() {
        let got = extract("since 09:00 x", now(), chrono_tz::UTC).unwrap();
        // 09:00 UTC today is after 02:30 UTC: the most recent 09:00 was yesterday.
        assert_eq!(
            got.range.start,
            Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
        );
    }

    #[test]
    fn impossible_ranges_are_explained() {
        let tz = chrono_tz::Asia::Shanghai;
        assert!(matches!(
            extract("今天14:00到今天13:00 x", now(), tz),
            Err(PhraseError::Backwards(_))
        ));
        assert!(matches!(
            extract("今天14:00到今天15:00 x", now(), tz),
            Err(PhraseError::Future(_))
        ));
        assert!(matches!(
            extract("今天14:00以来 x", now(), tz),
            Err(PhraseError::Future(_))
        ));
        assert!(matches!(
            extract("last 0m x", now(), tz),
            Err(PhraseError::Empty(_))
        ));
    }
}
