//! A length of time as a person reads it: "45 s", "5 min", "3 h 5 min", "2 d 4 h" in
//! English, "45 秒", "5 分钟", "3 小时 5 分钟", "2 天 4 小时" in Chinese.

use crate::{Lang, t};

/// `d` in its two largest units (negative lengths read as zero).
pub fn duration(lang: Lang, d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => t!(lang, "duration-seconds", s = s),
        60..3_600 => t!(lang, "duration-minutes", m = s / 60),
        3_600..86_400 => t!(lang, "duration-hours", h = s / 3_600, m = s % 3_600 / 60),
        _ => t!(
            lang,
            "duration-days",
            d = s / 86_400,
            h = s % 86_400 / 3_600
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn a_length_reads_in_its_two_largest_units_in_each_language() {
        let cases = [
            (TimeDelta::seconds(-5), "0 s", "0 秒"),
            (TimeDelta::seconds(45), "45 s", "45 秒"),
            (TimeDelta::minutes(5), "5 min", "5 分钟"),
            (TimeDelta::minutes(185), "3 h 5 min", "3 小时 5 分钟"),
            (TimeDelta::hours(52), "2 d 4 h", "2 天 4 小时"),
        ];
        for (d, en, zh) in cases {
            assert_eq!(duration(Lang::En, d), en);
            assert_eq!(duration(Lang::ZhCn, d), zh);
        }
    }
}
