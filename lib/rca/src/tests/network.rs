//! Network delay: the time calls spend on the wire, from spans and from both sides' metrics.

use super::*;

/// frontend calls cart and ad every 15 s; from minute 10 the network to cart adds
/// 200 ms each way. cart's own spans do not change, frontend's grow.
fn network_delay_on_cart() -> Observations {
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 4 {
        let t = START + 15.0 * i as f64;
        let delay = if t >= START + 600.0 { 0.2 } else { 0.001 };
        let id = format!("t{i}");
        let us = |name: &str, ms: f64| ms * 1000.0 * (1.0 + 0.05 * jitter(i + name.len()));
        let cart_ms = 10.0;
        let frontend_ms = 2.0 * delay * 1000.0 + cart_ms + 2.0 + 15.0;
        // The caller's span is exactly as long as its calls and the wire need.
        obs.spans
            .push(span(&id, "a", None, "frontend", t, frontend_ms * 1000.0));
        obs.spans.push(span(
            &id,
            "cart",
            Some("a"),
            "cart",
            t + delay,
            us("cart", cart_ms),
        ));
        let ad_start = t + 2.0 * delay + cart_ms / 1000.0 + 0.001;
        obs.spans
            .push(span(&id, "ad", Some("a"), "ad", ad_start, us("ad", 12.0)));
    }
    obs
}

#[test]
fn a_network_delay_is_pinned_on_the_service_behind_it() {
    let ranking = rank(&network_delay_on_cart());
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "cart", "{ranking:#?}");
    let network = top.change.traces.as_ref().map(|t| t.network).unwrap();
    assert!(network > 1.0, "cart's network rise is {network}");
    let ad = ranking.candidate("ad").unwrap();
    let ad_network = ad.change.traces.as_ref().unwrap().network;
    assert!(ad_network < 0.3, "ad's network rise is {ad_network}");
}

#[test]
fn a_caller_waiting_on_the_wire_in_front_of_its_callee_is_its_echo() {
    // frontend's latency metric rises with the wire to cart (x10 from minute 10),
    // cart's own does not: the wait is the network's in front of cart.
    let mut obs = network_delay_on_cart();
    obs.metrics.push(metric(
        "latency_p90_seconds",
        vec![
            ("frontend", series(0.03, 1, 10, 10.0)),
            ("cart", series(0.01, 2, 99, 1.0)),
        ],
    ));
    let ranking = rank(&obs);
    let frontend = ranking.candidate("frontend").unwrap();
    assert_eq!(frontend.change.latency_echo.as_deref(), Some("cart"));
    assert_eq!(ranking.candidates[0].service, "cart");
    // Without the network delay as evidence, nothing explains frontend's latency.
    let blind = crate::rank_with(&obs, &without(|s| s.network_delay = false));
    let frontend = blind.candidate("frontend").unwrap();
    assert_eq!(frontend.change.latency_echo, None);
}

/// frontend calls cart, which calls db (its one callee), every 15 s; from minute 10
/// packets leaving cart are 200 ms late: its answers reach frontend late and its
/// calls reach db late, while nobody's own work takes longer.
fn delay_leaving_cart() -> Observations {
    let mut obs = observations(Vec::new());
    for i in 0..MINUTES * 4 {
        let t = START + 15.0 * i as f64;
        let late = if t >= START + 600.0 { 0.2 } else { 0.0 };
        let id = format!("t{i}");
        let between = |n: &str, parent: Option<&str>, service: &str, start: f64, end: f64| {
            span(&id, n, parent, service, start, (end - start) * 1e6)
        };
        let db_ms = 0.005 * (1.0 + 0.05 * jitter(i));
        let cart_start = t + 0.001;
        let db_start = cart_start + 0.002 + late;
        let cart_end = db_start + db_ms + 0.001 + 0.002;
        obs.spans
            .push(between("a", None, "frontend", t, cart_end + late + 0.001));
        obs.spans
            .push(between("b", Some("a"), "cart", cart_start, cart_end));
        obs.spans
            .push(between("c", Some("b"), "db", db_start, db_start + db_ms));
    }
    obs
}

#[test]
fn a_delay_on_a_service_s_own_packets_is_not_its_one_callee_s() {
    let obs = delay_leaving_cart();
    let spans = spans_from_minute_10(&obs);
    let network = |service: &str| spans[service].network;
    // Calls to db spend 200 ms more outside db's spans, but cart's answers are as
    // late: the delay is cart's, and db's share of it is none.
    assert!(network("cart") > 2.0, "{}", network("cart"));
    assert!(network("db") < 0.3, "{}", network("db"));
    assert_eq!(rank(&obs).candidates[0].service, "cart");
}

#[test]
fn calls_slowed_at_their_callers_but_not_at_the_callee_are_a_network_delay() {
    // Calls to `cart` take 4 times longer as `frontend` measures them; `cart` itself
    // serves them as fast as ever. The frontend waits, so its own latency rises.
    let obs = mapped(
        vec![
            metric(
                "latency_p90_seconds",
                vec![
                    ("frontend", series(0.1, 1, 10, 3.0)),
                    ("cart", series(0.02, 2, 99, 1.0)),
                    ("ads", series(0.03, 3, 99, 1.0)),
                ],
            ),
            metric(
                "callers_latency_p90_seconds",
                vec![
                    ("cart", series(0.025, 4, 10, 4.0)),
                    ("ads", series(0.035, 5, 99, 1.0)),
                ],
            ),
        ],
        &[("frontend", "cart"), ("frontend", "ads")],
    );
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "cart");
    let unseen = crate::rank_with(&obs, &without(|s| s.network_delay = false));
    assert_eq!(unseen.candidates[0].service, "frontend");
}
