use std::time::Duration;

use tokio::time::Instant;

use aegis_core::config::Secret;

/// A tenant access token and when to refresh it.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) value: Secret,
    pub(crate) refresh_at: Instant,
}

/// Refresh this long before Feishu's expiry (the Go SDK's choice).
const EARLY: Duration = Duration::from_secs(180);

impl Token {
    /// A token valid for `expire` seconds from now, refreshed three minutes early (or
    /// at half its life if it is shorter than six minutes).
    pub(crate) fn new(value: Secret, expire: u64) -> Self {
        let ttl = Duration::from_secs(expire);
        let early = EARLY.min(ttl / 2);
        Self {
            value,
            refresh_at: Instant::now() + ttl - early,
        }
    }

    pub(crate) fn is_fresh(&self) -> bool {
        Instant::now() < self.refresh_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshed_three_minutes_early() {
        let t = Token::new(Secret::new("t-1"), 7200);
        let now = Instant::now();
        assert!(t.is_fresh());
        let left = t.refresh_at - now;
        assert!(left <= Duration::from_secs(7200 - 180), "{left:?}");
        assert!(left > Duration::from_secs(7200 - 181), "{left:?}");
    }

    #[test]
    fn short_tokens_refresh_at_half_life() {
        let t = Token::new(Secret::new("t-1"), 0);
        assert!(!t.is_fresh());
        let t = Token::new(Secret::new("t-1"), 60);
        let now = Instant::now();
        assert!(t.refresh_at - now <= Duration::from_secs(30));
    }
}
