//! `aegis dead-letters list` and `aegis dead-letters resend`: the other half of the
//! dead letter sink. Once the cause of a failed delivery is fixed, the kept events go
//! back to the Broker, oldest first, as they were first published (same id, type,
//! source and data, so receivers that already handled one recognise it), and each is
//! removed from the store only once the Broker accepted it: a resend that fails half
//! way loses nothing and can simply be run again.

use aegis_core::events::{Event, EventSink};
use aegis_store::{DeadLetter, ReportStore};

use aegis_core::events::knative::{EXT_ERROR_CODE, EXT_ERROR_DATA, EXT_ERROR_DEST, TTL_EXTENSION};

/// How many kept letters a command reads unless told otherwise.
pub const DEFAULT_LIMIT: usize = 1000;

/// Which kept letters a command reads (also its command-line options).
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Only the event with this id (repeatable), among the newest `--limit`.
    #[arg(long = "id")]
    pub ids: Vec<String>,
    /// At most this many, the newest.
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    pub limit: usize,
}

impl Default for Selection {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            limit: DEFAULT_LIMIT,
        }
    }
}

impl Selection {
    /// The selected letters, newest first.
    async fn read(&self, store: &dyn ReportStore) -> Result<Vec<DeadLetter>, aegis_store::Error> {
        let mut letters = store.list_dead_letters(self.limit).await?;
        if !self.ids.is_empty() {
            letters.retain(|l| self.ids.iter().any(|id| id == l.id()));
        }
        Ok(letters)
    }
}

/// One line per selected letter, newest first: when it was received, the event's id
/// and type, and the failed delivery's status and destination.
pub async fn list(store: &dyn ReportStore, selection: &Selection) -> anyhow::Result<String> {
    let letters = selection.read(store).await?;
    let mut out = String::new();
    for letter in &letters {
        let field = |name: &str| {
            letter
                .event
                .get(name)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("-")
                .to_string()
        };
        out.push_str(&format!(
            "{}  {}  {}  HTTP {}  {}\n",
            letter
                .received_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            letter.id(),
            field("type"),
            field(EXT_ERROR_CODE),
            field(EXT_ERROR_DEST),
        ));
    }
    out.push_str(&format!("{} dead letter(s)\n", letters.len()));
    Ok(out)
}

/// `aegis dead-letters list`, on the store the environment configures.
pub async fn list_command(selection: Selection) -> anyhow::Result<()> {
    let store = crate::config::store().await?;
    print!("{}", list(store.as_ref(), &selection).await?);
    Ok(())
}

/// `aegis dead-letters resend`, from the store the environment configures to `to`
/// (default `K_SINK`), with the publishers' retry settings, and `AEGIS_WEBHOOK_TOKEN`
/// as the bearer when `with_webhook_token`. Fails when any letter stays, after saying
/// which and why.
pub async fn resend_command(
    to: Option<url::Url>,
    with_webhook_token: bool,
    selection: Selection,
) -> anyhow::Result<()> {
    let env = aegis_core::config::Env::new(&|name| std::env::var(name).ok());
    let events = aegis_core::events::Config::from_env(&env)?;
    let token = if with_webhook_token {
        Some(
            aegis_core::alert::Config::from_env(&env)?
                .webhook_token
                .ok_or_else(|| {
                    anyhow::anyhow!("--with-webhook-token: AEGIS_WEBHOOK_TOKEN is not set")
                })?,
        )
    } else {
        None
    };
    let to = to.or_else(|| events.sink.clone()).ok_or_else(|| {
        anyhow::anyhow!("where to send them: give --to <broker ingress URL> or set K_SINK")
    })?;
    let store = crate::config::store().await?;
    let mut sink = aegis_core::events::HttpSink::new(to.clone(), &events);
    if let Some(token) = &token {
        sink = sink.with_bearer(token);
    }
    let outcome = resend(store.as_ref(), &sink, &selection).await?;
    for id in &outcome.resent {
        println!("resent {id}");
    }
    for (id, why) in &outcome.kept {
        println!("kept {id}: {why}");
    }
    println!(
        "{} resent to {to}, {} kept",
        outcome.resent.len(),
        outcome.kept.len()
    );
    anyhow::ensure!(
        outcome.kept.is_empty(),
        "{} dead letter(s) stay in the store",
        outcome.kept.len()
    );
    Ok(())
}

/// What a resend did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Ids sent again and removed from the store, in the order they were sent.
    pub resent: Vec<String>,
    /// Ids kept, with why.
    pub kept: Vec<(String, String)>,
}

/// Sends the selected letters to `sink`, oldest first, without the delivery-failure
/// extensions and the hop count the Broker added; each one the sink accepts is removed
/// from the store. A letter that cannot be read as a CloudEvent, or that the sink
/// refuses, stays; so does one the store fails to remove (it would be sent twice on
/// the next run rather than be lost).
pub async fn resend(
    store: &dyn ReportStore,
    sink: &dyn EventSink,
    selection: &Selection,
) -> anyhow::Result<Outcome> {
    let mut letters = selection.read(store).await?;
    letters.reverse();
    let mut outcome = Outcome::default();
    for letter in letters {
        let id = letter.id().to_string();
        let event = match as_published(&letter) {
            Ok(event) => event,
            Err(e) => {
                outcome.kept.push((id, format!("not a CloudEvent: {e}")));
                continue;
            }
        };
        if let Err(e) = sink.send(event).await {
            outcome.kept.push((id, e.to_string()));
            continue;
        }
        match store.remove_dead_letter(letter.received_at, &id).await {
            Ok(()) => outcome.resent.push(id),
            Err(e) => outcome.kept.push((
                id,
                format!("sent, but still in the store ({e}): it would be sent again"),
            )),
        }
    }
    Ok(outcome)
}

/// The event as it was first published: the kept structured CloudEvent less what the
/// Broker added on the way (the `knativeerror*` extensions and the hop count).
fn as_published(letter: &DeadLetter) -> Result<Event, serde_json::Error> {
    let mut event: Event = serde_json::from_value(letter.event.clone())?;
    for name in [
        EXT_ERROR_DEST,
        EXT_ERROR_CODE,
        EXT_ERROR_DATA,
        TTL_EXTENSION,
    ] {
        event.remove_extension(name);
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use aegis_core::events::{AttributesReader, SendError};
    use aegis_store::Memory;
    use chrono::{Duration, Utc};

    use super::*;

    /// Records what it is sent; refuses the ids it is told to.
    #[derive(Default)]
    struct Recorder {
        sent: Mutex<Vec<Event>>,
        refuse: Vec<&'static str>,
    }

    #[async_trait::async_trait]
    impl EventSink for Recorder {
        async fn send(&self, event: Event) -> Result<(), SendError> {
            if self.refuse.contains(&event.id()) {
                return Err(SendError::Rejected { status: 400 });
            }
            self.sent.lock().unwrap().push(event);
            Ok(())
        }
    }

    fn letter(id: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "specversion": "1.0",
            "id": id,
            "type": "dev.aegis.alert.received.v1",
            "source": "/aegis/webhook-receiver",
            "datacontenttype": "application/json",
            "data": {"alertname": "HighLatency"},
            EXT_ERROR_DEST: "http://notifier.aegis.svc/",
            EXT_ERROR_CODE: "503",
            EXT_ERROR_DATA: "ZG93bg==",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        }))
        .unwrap()
    }

    async fn store_with(ids: &[&str]) -> Memory {
        let store = Memory::default();
        let at = Utc::now();
        for (i, id) in ids.iter().enumerate() {
            let bytes = if *id == "garbled" {
                br#"{"id": "garbled"}"#.to_vec()
            } else {
                letter(id)
            };
            store
                .put_dead_letter(at + Duration::seconds(i as i64), id, &bytes)
                .await
                .unwrap();
        }
        store
    }

    #[tokio::test]
    async fn letters_go_back_oldest_first_as_published_and_leave_the_store() {
        let store = store_with(&["a-1", "a-2"]).await;
        let sink = Recorder::default();
        let outcome = resend(&store, &sink, &Selection::default()).await.unwrap();
        assert_eq!(outcome.resent, ["a-1", "a-2"]);
        assert!(outcome.kept.is_empty(), "{outcome:?}");
        let sent = sink.sent.lock().unwrap().clone();
        assert_eq!(sent[0].id(), "a-1");
        assert_eq!(sent[0].ty(), "dev.aegis.alert.received.v1");
        assert_eq!(sent[0].source().as_str(), "/aegis/webhook-receiver");
        for name in [EXT_ERROR_DEST, EXT_ERROR_CODE, EXT_ERROR_DATA] {
            assert!(sent[0].extension(name).is_none(), "{name} is the broker's");
        }
        assert!(
            sent[0].extension("traceparent").is_some(),
            "the publisher's own extensions stay"
        );
        let data: serde_json::Value = aegis_core::events::data_as(&sent[0]).unwrap();
        assert_eq!(data["alertname"], "HighLatency");
        assert!(store.list_dead_letters(10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_refused_or_unreadable_letter_stays_and_says_why() {
        let store = store_with(&["ok", "refused", "garbled"]).await;
        let sink = Recorder {
            refuse: vec!["refused"],
            ..Recorder::default()
        };
        let outcome = resend(&store, &sink, &Selection::default()).await.unwrap();
        assert_eq!(outcome.resent, ["ok"]);
        let kept: Vec<&str> = outcome.kept.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(kept, ["refused", "garbled"]);
        assert!(outcome.kept[0].1.contains("HTTP 400"), "{outcome:?}");
        assert!(
            outcome.kept[1].1.contains("not a CloudEvent"),
            "{outcome:?}"
        );
        let left: Vec<String> = store
            .list_dead_letters(10)
            .await
            .unwrap()
            .iter()
            .map(|l| l.id().to_string())
            .collect();
        assert_eq!(left, ["garbled", "refused"]);
    }

    #[tokio::test]
    async fn a_selection_by_id_sends_only_those_and_lists_them() {
        let store = store_with(&["a-1", "a-2", "a-3"]).await;
        let selection = Selection {
            ids: vec!["a-2".into()],
            ..Selection::default()
        };
        let listing = list(&store, &selection).await.unwrap();
        assert!(
            listing
                .contains("a-2  dev.aegis.alert.received.v1  HTTP 503  http://notifier.aegis.svc/"),
            "{listing}"
        );
        assert!(!listing.contains("a-1"), "{listing}");
        assert!(listing.ends_with("1 dead letter(s)\n"), "{listing}");
        let sink = Recorder::default();
        let outcome = resend(&store, &sink, &selection).await.unwrap();
        assert_eq!(outcome.resent, ["a-2"]);
        assert_eq!(store.list_dead_letters(10).await.unwrap().len(), 2);
    }
}
