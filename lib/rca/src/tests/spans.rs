//! Spans: a busy caller, self time, span counts, call mix.

use super::*;

/// frontend calls cart, ad and shipping one after another every 15 s; from minute 10
/// frontend is starved of CPU: it takes 30 ms longer to send and to read each call,
/// while the callees' own spans do not change.
/// The frontend calls `callees` one after another; from minute 10 it takes 30 ms
/// longer (1 ms before) after each call to one of `slowed` returns, and before it is
/// made too when `before`.
fn frontend_slow_around(callees: &[&str], slowed: &[&str], before: bool) -> Observations {
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 4 {
        let t = START + 15.0 * i as f64;
        let id = format!("t{i}");
        let mut at = t;
        for (k, callee) in callees.iter().enumerate() {
            let slow = if t >= START + 600.0 && slowed.contains(callee) {
                0.030
            } else {
                0.001
            };
            let start = at + if before { slow } else { 0.001 };
            let ms = 10.0 * (1.0 + 0.05 * jitter(i * 3 + k));
            obs.spans.push(Span {
                trace_id: id.clone(),
                span_id: callee.to_string(),
                parent_span_id: Some("root".into()),
                service: callee.to_string(),
                operation: "call".into(),
                start,
                duration_us: ms * 1000.0,
                error: Some(false),
            });
            at = start + ms / 1000.0 + slow;
        }
        obs.spans.push(Span {
            trace_id: id.clone(),
            span_id: "root".into(),
            parent_span_id: None,
            service: "frontend".into(),
            operation: "request".into(),
            start: t,
            duration_us: (at - t) * 1e6,
            error: Some(false),
        });
    }
    obs
}

fn busy_frontend() -> Observations {
    let callees = ["cart", "ad", "shipping"];
    frontend_slow_around(&callees, &callees, true)
}

#[test]
fn a_caller_slow_to_make_every_call_is_pinned_on_itself() {
    let ranking = rank(&busy_frontend());
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "frontend", "{ranking:#?}");
    let busy = top.change.traces.as_ref().unwrap().busy;
    assert!(busy > 1.0, "frontend's busy rise is {busy}");
    let r = report(&input(), &busy_frontend());
    let frontend = &r.ranked_root_causes[0];
    assert!(
        frontend
            .description
            .contains("(busy: slow to send and read)"),
        "{}",
        frontend.description
    );
    for c in ranking.candidates.iter().skip(1) {
        let network = c.change.traces.as_ref().map_or(0.0, |t| t.network);
        assert!(network < 0.3, "{}'s network rise is {network}", c.service);
    }
}

#[test]
fn a_caller_slow_around_two_of_its_calls_is_pinned_on_itself() {
    // A starved frontend is slow around the calls its own work follows (currency and
    // checkout), not around every call; a network delay is on one callee, so two
    // callees slowed alike point at the caller.
    let callees = ["cart", "ad", "shipping", "currency", "checkout"];
    let obs = frontend_slow_around(&callees, &["currency", "checkout"], false);
    let ranking = rank(&obs);
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "frontend", "{ranking:#?}");
    let busy = top.change.traces.as_ref().unwrap().busy;
    assert!(busy > 1.0, "frontend's busy rise is {busy}");
    // Nor is either callee's wire slower: the time around each rose about x20
    // (log ratio about 3), and the other's rose nearly as much.
    let spans = spans_from_minute_10(&obs);
    for callee in ["currency", "checkout"] {
        let network = spans[callee].network;
        assert!(network < 1.0, "{callee}'s network rise is {network}");
    }
    // One callee slowed alone is that callee's network, not a busy caller.
    let obs = frontend_slow_around(&callees, &["currency"], false);
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "currency", "{ranking:#?}");
    let frontend = ranking.candidate("frontend");
    let busy = frontend
        .and_then(|c| c.change.traces.as_ref())
        .map_or(0.0, |t| t.busy);
    assert!(busy < 0.3, "frontend's busy rise is {busy}");
}

#[test]
fn fewer_cheap_calls_do_not_make_a_service_look_slower() {
    // `catalog` answers a cheap and a costly operation; from minute 10 it gets a third
    // of the cheap calls and as many costly ones, each exactly as fast as before.
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 12 {
        let t = START + 5.0 * i as f64;
        let incident = t >= START + 600.0;
        let (operation, ms) = if i % 2 == 0 {
            ("ListProducts", 40.0)
        } else if !incident || i % 6 == 1 {
            ("GetProduct", 1.0)
        } else {
            continue;
        };
        obs.spans.push(Span {
            trace_id: format!("t{i}"),
            span_id: "s".into(),
            parent_span_id: None,
            service: "catalog".into(),
            operation: operation.into(),
            start: t,
            duration_us: ms * 1000.0 * (1.0 + 0.05 * jitter(i)),
            error: Some(false),
        });
    }
    let ranking = rank(&obs);
    let traces = ranking.candidates[0].change.traces.clone().unwrap();
    assert!(
        traces.duration.abs() < 0.1 && traces.self_time.abs() < 0.1,
        "{traces:?}"
    );
    // The pooled medians, shown as evidence, did move.
    assert!(traces.median_ms.1 > 2.0 * traces.median_ms.0, "{traces:?}");
}

/// Ten minutes of a service's spans, one every 5 seconds, then `slow` spans ten
/// times as long after minute 10 (a burst of traces, as Train Ticket's come).
fn a_burst_of_slow_spans(slow: usize) -> Observations {
    let mut obs = observations(Vec::new());
    let ms = |i: usize, base: f64| base * 1000.0 * (1.0 + 0.05 * jitter(i));
    for i in 0..120 {
        let t = START + 5.0 * i as f64;
        obs.spans
            .push(span(&format!("b{i}"), "s", None, "search", t, ms(i, 10.0)));
    }
    for i in 0..slow {
        let t = START + 600.0 + 10.0 * i as f64;
        obs.spans
            .push(span(&format!("i{i}"), "s", None, "search", t, ms(i, 100.0)));
    }
    obs
}

#[test]
fn five_slow_spans_after_the_start_are_chance_and_twenty_a_slowdown() {
    let five = spans_from_minute_10(&a_burst_of_slow_spans(5))["search"].clone();
    let twenty = spans_from_minute_10(&a_burst_of_slow_spans(20))["search"].clone();
    // Both medians rose ten times over ...
    assert!(
        five.duration > 2.0 && twenty.duration > 2.0,
        "{five:?} {twenty:?}"
    );
    // ... but five spans moving alike have a chance of 1 in 32: no evidence.
    assert_eq!(five.count_weight, 0.0);
    assert_eq!(five.own_score(), 0.0);
    assert_eq!(twenty.count_weight, 1.0);
    assert!(twenty.own_score() > 2.0, "{twenty:?}");
}

/// `front` calls `orders`, whose request span (`GET /order`) holds five inner spans
/// of its own (a controller, a repository, three queries) of 1 ms each. From
/// minute 10, with `slowed`, each request takes 200 ms longer outside them (a slow
/// handler, a lock): the inner spans do not move.
fn a_slow_handler_among_inner_spans(slowed: bool) -> Observations {
    let mut obs = observations(Vec::new());
    let inner = [
        "Controller.get",
        "Repository.find",
        "SELECT a",
        "SELECT b",
        "SELECT c",
    ];
    for i in 0..MINUTES * 12 {
        let t = START + 5.0 * i as f64;
        let extra = if slowed && t >= START + 600.0 {
            200.0
        } else {
            0.0
        };
        let trace = format!("t{i}");
        let ms = |base: f64, k: usize| base * 1000.0 * (1.0 + 0.05 * jitter(i * 7 + k));
        let span = |id: &str, parent: Option<&str>, service: &str, operation: &str, us: f64| Span {
            operation: operation.into(),
            ..span(&trace, id, parent, service, t, us)
        };
        obs.spans.push(span(
            "f",
            None,
            "front",
            "GET /",
            ms(12.0, 0) + extra * 1000.0,
        ));
        obs.spans.push(span(
            "o",
            Some("f"),
            "orders",
            "GET /order",
            ms(10.0, 1) + extra * 1000.0,
        ));
        for (k, operation) in inner.iter().enumerate() {
            obs.spans.push(span(
                &format!("i{k}"),
                Some("o"),
                "orders",
                operation,
                ms(1.0, k + 2),
            ));
        }
    }
    obs
}

#[test]
fn a_request_slowed_outside_a_service_s_inner_spans_shows_as_its_latency() {
    let ranking = rank(&a_slow_handler_among_inner_spans(true));
    let traces = |service: &str| {
        ranking
            .candidate(service)
            .and_then(|c| c.change.traces.clone())
            .unwrap_or_else(|| panic!("{service} has no span change"))
    };
    // Its requests take x20 as long; over all six of its operations the median
    // would not move, as five did not.
    let orders = traces("orders");
    assert!(orders.duration > 2.0, "{orders:?}");
    assert_eq!(ranking.candidates[0].service, "orders");
    // Its caller waits as long, and that is its callee's latency, not its own.
    assert!(traces("front").duration > 1.0);
    let front = ranking.candidate("front").unwrap();
    assert_eq!(front.explained_by.as_deref(), Some("orders"));

    let calm = spans_from_minute_10(&a_slow_handler_among_inner_spans(false));
    assert!(calm["orders"].duration.abs() < 0.2, "{:?}", calm["orders"]);
}

/// `orders` answers `List` (which calls `db` once) and `Get` (which calls `db` and then
/// `stock`); from minute 10 it gets a third of the `List` requests and as many `Get`
/// ones. With `stops`, `Get` stops calling `stock` from minute 10 (it returns half way).
fn orders_calls(stops: bool) -> Observations {
    let mut obs = observations(Vec::new());
    let span =
        |trace: &str, id: &str, parent: Option<&str>, service: &str, operation: &str, t: f64| {
            Span {
                trace_id: trace.into(),
                span_id: id.into(),
                parent_span_id: parent.map(str::to_string),
                service: service.into(),
                operation: operation.into(),
                start: t,
                duration_us: 5_000.0,
                error: Some(false),
            }
        };
    for i in 0..MINUTES * 12 {
        let t = START + 5.0 * i as f64;
        let incident = t >= START + 600.0;
        let operation = if i % 2 == 0 {
            "Get"
        } else if !incident || i % 6 == 1 {
            "List"
        } else {
            continue;
        };
        let trace = format!("t{i}");
        obs.spans
            .push(span(&trace, "o", None, "orders", operation, t));
        obs.spans
            .push(span(&trace, "d", Some("o"), "db", "query", t + 0.001));
        if operation == "Get" && !(stops && incident) {
            obs.spans
                .push(span(&trace, "s", Some("o"), "stock", "check", t + 0.002));
        }
    }
    obs
}

#[test]
fn a_changed_mix_of_operations_is_not_a_changed_call_mix_and_a_call_stopped_is() {
    // Per call received, `orders` calls `stock` half again as often once `List` is
    // rarer; per `Get`, exactly as often.
    let calls = |obs: &Observations| {
        rank(obs)
            .candidate("orders")
            .and_then(|c| c.change.traces.clone())
            .map(|t| t.call_mix)
            .unwrap()
    };
    let mix = calls(&orders_calls(false));
    assert!(mix < 0.05, "call mix {mix}");
    // `Get` that stops calling `stock` is a changed call mix.
    let stopped = calls(&orders_calls(true));
    assert!(stopped > 2.0, "call mix {stopped}");
}
