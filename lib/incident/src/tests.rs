use std::collections::BTreeSet;
use std::sync::Arc;

use aegis_core::alert::Notification;
use aegis_store::{Memory, ReportStore};
use chrono::{DateTime, Duration, Utc};

use super::*;

fn at(min: i64) -> DateTime<Utc> {
    "2026-12-07T10:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(min)
}

/// The group `key` of `alerts` `(fingerprint, namespace, service, status)`.
fn group(key: &str, alerts: &[(&str, &str, &str, &str)]) -> Notification {
    let status = if alerts.iter().all(|a| a.3 == "resolved") {
        "resolved"
    } else {
        "firing"
    };
    let alerts: Vec<serde_json::Value> = alerts
        .iter()
        .map(|(fp, ns, service, status)| {
            serde_json::json!({
                "status": status,
                "labels": {"alertname": format!("{service}Down"), "namespace": ns, "service": service, "severity": "critical"},
                "startsAt": "2026-12-07T10:00:00Z",
                "endsAt": if *status == "resolved" { "2026-12-07T10:30:00Z" } else { "0001-01-01T00:00:00Z" },
                "fingerprint": fp,
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "version": "4", "groupKey": key, "status": status, "receiver": "aegis", "alerts": alerts,
    }))
    .unwrap()
}

fn book(store: &Arc<dyn ReportStore>) -> Incidents {
    let rule = Rule {
        graph: [("frontend".to_string(), "cart".to_string())].into(),
        ..Rule::default()
    };
    Incidents::new(store.clone(), rule)
}

/// Opens the incident of group `g1` (cart firing, event `e1`, at minute 0).
async fn open_cart(book: &Incidents) -> Assigned {
    book.assign(
        &group("g1", &[("a", "shop", "cart", "firing")]),
        "e1",
        None,
        at(0),
    )
    .await
    .unwrap()
}

fn store() -> Arc<dyn ReportStore> {
    Arc::new(Memory::default())
}

#[tokio::test]
async fn related_groups_join_one_incident_and_unrelated_ones_open_their_own() {
    let store = store();
    let book = book(&store);
    let chat = Some("oc_1");
    let first = book
        .assign(
            &group("g-cart", &[("a", "shop", "cart", "firing")]),
            "e1",
            chat,
            at(0),
        )
        .await
        .unwrap();
    assert!(first.opened);
    let caller = book
        .assign(
            &group("g-front", &[("b", "shop", "frontend", "firing")]),
            "e2",
            chat,
            at(1),
        )
        .await
        .unwrap();
    assert!(!caller.opened, "frontend calls cart: same incident");
    assert_eq!(caller.incident.id, first.incident.id);
    let other = book
        .assign(
            &group("g-bank", &[("c", "bank", "ledger", "firing")]),
            "e3",
            chat,
            at(2),
        )
        .await
        .unwrap();
    assert!(other.opened, "another namespace and service");
    let elsewhere = book
        .assign(
            &group("g-cart2", &[("d", "shop", "cart", "firing")]),
            "e4",
            Some("oc_2"),
            at(2),
        )
        .await
        .unwrap();
    assert!(elsewhere.opened, "another chat's incident is not this one");
    let late = book
        .assign(
            &group("g-cart3", &[("e", "shop", "cart", "firing")]),
            "e5",
            chat,
            at(45),
        )
        .await
        .unwrap();
    assert!(
        late.opened,
        "past the 30-minute window a new incident opens"
    );
    assert_eq!(book.list(10).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_redelivered_group_gets_the_same_answer_and_resolutions_close_the_incident() {
    let store = store();
    let book = book(&store);
    let firing = group(
        "g1",
        &[
            ("a", "shop", "cart", "firing"),
            ("b", "shop", "cart", "firing"),
        ],
    );
    let first = book.assign(&firing, "e1", None, at(0)).await.unwrap();
    let again = book.assign(&firing, "e1", None, at(0)).await.unwrap();
    assert!(
        again.opened,
        "the redelivery of the opener still says it opened"
    );
    assert_eq!(again.incident.id, first.incident.id);
    assert_eq!(again.incident.timeline.len(), 1, "not absorbed twice");
    let half = group(
        "g1",
        &[
            ("a", "shop", "cart", "resolved"),
            ("b", "shop", "cart", "firing"),
        ],
    );
    let now = book.assign(&half, "e2", None, at(10)).await.unwrap();
    assert!(!now.incident.is_resolved());
    let all = group(
        "g1",
        &[
            ("a", "shop", "cart", "resolved"),
            ("b", "shop", "cart", "resolved"),
        ],
    );
    let now = book.assign(&all, "e3", None, at(31)).await.unwrap();
    assert_eq!(
        now.incident.id, first.incident.id,
        "a resolution joins its group's incident"
    );
    assert!(now.incident.is_resolved());
    let stored = book.get(&first.incident.id).await.unwrap().unwrap();
    assert!(stored.is_resolved());
}

#[tokio::test]
async fn two_replicas_racing_through_a_storm_open_one_incident() {
    let store = store();
    let (a, b) = (book(&store), book(&store));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let book = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let n = group(
                &format!("g{i}"),
                &[(&format!("fp{i}"), "shop", "cart", "firing")],
            );
            book.assign(&n, &format!("e{i}"), None, at(0))
                .await
                .unwrap()
        }));
    }
    let mut ids = BTreeSet::new();
    let mut opened = 0;
    for task in tasks {
        let assigned = task.await.unwrap();
        ids.insert(assigned.incident.id);
        opened += usize::from(assigned.opened);
    }
    assert_eq!(ids.len(), 1, "one incident for one storm: {ids:?}");
    assert_eq!(opened, 1);
    let incident = a.get(ids.first().unwrap()).await.unwrap().unwrap();
    assert_eq!(incident.groups.len(), 16);
}

#[tokio::test]
async fn one_analysis_at_a_time_and_a_re_run_when_the_incident_grew() {
    let store = store();
    let book = book(&store);
    let opened = open_cart(&book).await;
    let id = opened.incident.id.clone();
    let (_, first) = book
        .request_analysis(&id, "e1", at(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.generation, 1);
    let again = book
        .request_analysis(&id, "e1", at(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again.1.request_id, first.request_id,
        "a redelivery asks again by the same id"
    );
    book.assign(
        &group("g2", &[("b", "shop", "frontend", "firing")]),
        "e2",
        None,
        at(1),
    )
    .await
    .unwrap();
    assert!(
        book.request_analysis(&id, "e2", at(1))
            .await
            .unwrap()
            .is_none(),
        "the first is still running"
    );
    book.analysis_done(
        &id,
        &first.request_id,
        None,
        Some("timeout"),
        Some("om_r1"),
        at(3),
    )
    .await
    .unwrap();
    let (incident, second) = book
        .request_analysis(&id, "c1", at(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.generation, 2);
    assert!(second.services.contains("frontend") && second.services.contains("cart"));
    assert_eq!(incident.analyses[0].message.as_deref(), Some("om_r1"));
    book.analysis_done(&id, &second.request_id, None, None, None, at(5))
        .await
        .unwrap();
    assert!(
        book.request_analysis(&id, "e9", at(6))
            .await
            .unwrap()
            .is_none(),
        "nothing new to cover"
    );
}

#[tokio::test]
async fn the_card_s_thread_leads_to_its_incident() {
    let store = store();
    let book = book(&store);
    let opened = open_cart(&book).await;
    let incident = book.set_card(&opened.incident.id, "om_card").await.unwrap();
    assert_eq!(incident.card.as_deref(), Some("om_card"));
    let again = book
        .set_card(&opened.incident.id, "om_other")
        .await
        .unwrap();
    assert_eq!(
        again.card.as_deref(),
        Some("om_card"),
        "the first card stands"
    );
    let found = book.for_thread("om_card").await.unwrap().unwrap();
    assert_eq!(found.id, opened.incident.id);
    assert!(book.for_thread("om_nothing").await.unwrap().is_none());
    assert_eq!(opened_at(&found.id), Some(at(0)));
}

#[tokio::test]
async fn a_reader_without_the_head_folds_the_log() {
    let store = store();
    let book = book(&store);
    let opened = open_cart(&book).await;
    // A head from before the entry: the reader catches up from the log.
    store
        .put_incident_head(&serde_json::to_vec(&state::State::default()).unwrap())
        .await
        .unwrap();
    let state = book.state().await.unwrap();
    assert_eq!(state.seq, 1);
    assert!(state.incidents.contains_key(&opened.incident.id));
}

#[tokio::test]
async fn resolved_incidents_leave_the_state_after_a_day_but_stay_readable() {
    let store = store();
    let book = book(&store);
    let old = Utc::now() - Duration::days(3);
    let firing = group("g-old", &[("a", "shop", "cart", "firing")]);
    let opened = book.assign(&firing, "e1", None, old).await.unwrap();
    let resolved = group("g-old", &[("a", "shop", "cart", "resolved")]);
    book.assign(&resolved, "e2", None, old + Duration::minutes(5))
        .await
        .unwrap();
    // Any later decision prunes the state it writes.
    book.assign(
        &group("g-new", &[("b", "bank", "ledger", "firing")]),
        "e3",
        None,
        Utc::now(),
    )
    .await
    .unwrap();
    let state = book.state().await.unwrap();
    assert!(
        !state.incidents.contains_key(&opened.incident.id),
        "pruned from the head"
    );
    assert!(!state.events.contains_key("e1"));
    let kept = book
        .get(&opened.incident.id)
        .await
        .unwrap()
        .expect("still stored");
    assert!(kept.is_resolved());
    assert_eq!(book.list(10).await.unwrap().len(), 2);
}
