//! X-Ray service maps: client views, untraced clients and inferred AWS resources.

use super::*;

#[test]
fn a_caller_s_view_of_a_service_does_not_outrank_the_service() {
    // X-Ray's `_remote` node is the caller's measurement of the same calls: it shows
    // the same rise as the service itself, a little louder.
    let latency = metric(
        "latency_p99_seconds",
        vec![
            ("search", series(0.05, 1, 10, 8.0)),
            ("search.elb_remote", series(0.06, 2, 10, 9.0)),
            ("site", series(0.1, 3, 10, 1.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[("site", "search"), ("site", "search.elb_remote")],
    );
    assert_eq!(rank(&obs).candidates[0].service, "search");
    // Weighed as a service, and not taken as the echo of the service the same
    // caller reaches, it would.
    let plain = crate::rank_with(
        &obs,
        &crate::Settings {
            client_view_weight: 1.0,
            latency_origin: false,
            ..crate::Settings::default()
        },
    );
    assert_eq!(plain.candidates[0].service, "search.elb_remote");
}

#[test]
fn a_service_s_requests_from_untraced_clients_are_its_own_evidence() {
    // X-Ray's `search_client` is the requests `search` receives from callers it
    // cannot trace, timed by `search` itself: over that part of its requests the
    // rise is clearer than over all of them, where the site's traced calls dilute
    // it; the caller's own view of `search` (`_remote`) is as loud.
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("search", series(0.05, 1, 10, 1.5)),
            ("search_client", series(0.06, 2, 10, 9.0)),
            ("search.elb_remote", series(0.06, 3, 10, 8.0)),
            ("site", series(0.1, 4, 10, 1.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[
            ("search_client", "search"),
            ("site", "search"),
            ("site", "search.elb_remote"),
        ],
    );
    let ranking = rank(&obs);
    let top = &ranking.candidates[0];
    assert_eq!(top.service, "search", "{ranking:#?}");
    assert_eq!(top.seen_by.as_deref(), Some("search_client"));
    let r = report(&input(), &obs);
    let first = &r.ranked_root_causes[0];
    assert!(
        first.description.contains("(search_client) departed more"),
        "{}",
        first.description
    );
    // Its evidence cites the client node's departure, with its chart.
    assert!(
        first
            .evidence
            .iter()
            .any(|e| e.summary.contains("search_client") && e.chart.is_some()),
        "{:?}",
        first.evidence
    );
    let apart = crate::rank_with(&obs, &without(|s| s.client_view_merge = false));
    assert_ne!(apart.candidates[0].service, "search", "{apart:#?}");
}

#[test]
fn a_client_node_s_echo_of_a_slow_callee_is_not_its_service_s_own() {
    // `db` slows first; `search`, which waits on it, a minute later, and so do
    // the requests of `search_client`, louder: all of it is `db`'s latency
    // travelling up, and the client node's share of it is no more `search`'s own.
    let latency = metric(
        "latency_p90_seconds",
        vec![
            ("db", series(0.02, 1, 10, 6.0)),
            ("search", series(0.05, 2, 11, 3.0)),
            ("search_client", series(0.06, 3, 11, 9.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[("search_client", "search"), ("search", "db")],
    );
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "db", "{ranking:#?}");
    let search = ranking.candidate("search").unwrap();
    assert_eq!(search.change.latency_echo.as_deref(), Some("db"));
    assert_eq!(search.seen_by, None);
}

#[test]
fn an_aws_resource_drawn_from_its_caller_s_calls_does_not_outrank_the_caller() {
    // X-Ray draws the DynamoDB table a traced service reads as a node of its own,
    // timed by the service's SDK subsegments: a slow service (a CPU hog) slows its
    // reads as it reads them, and the table's rise, as large and begun as early,
    // is no cause of its own.
    let latency = metric(
        "latency_p99_seconds",
        vec![
            ("search_AWS::ECS::Fargate", series(0.05, 1, 10, 6.0)),
            ("petInfo_AWS::DynamoDB::Table", series(0.01, 2, 10, 8.0)),
            ("site", series(0.1, 3, 10, 1.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[
            ("site", "search_AWS::ECS::Fargate"),
            ("search_AWS::ECS::Fargate", "petInfo_AWS::DynamoDB::Table"),
        ],
    );
    assert_eq!(rank(&obs).candidates[0].service, "search_AWS::ECS::Fargate");
    let plain = crate::rank_with(&obs, &without(|s| s.client_view_weight = 1.0));
    assert_eq!(plain.candidates[0].service, "petInfo_AWS::DynamoDB::Table");
    // What X-Ray draws from the nodes' own segments is a service of its own.
    for traced in [
        "lambda_step_readDDB_AWS::Lambda::Function",
        "PetAdoptionStatusUpdater/prod_AWS::ApiGateway::Stage",
        "AWS::StepFunctions::StateMachine",
        "payforadoption_AWS::ECS::Container",
        "ts-order-service",
    ] {
        assert!(!crate::is_client_view(traced), "{traced}");
    }
    for inferred in [
        "S3_AWS::S3",
        "https://sqs.us-west-2.amazonaws.com/q_AWS::SQS::Queue",
        "adoptions@db.rds.amazonaws.com_Database::SQL",
    ] {
        assert!(crate::is_client_view(inferred), "{inferred}");
    }
}

/// The site calls `search` and `list`, and `search` through a load balancer X-Ray
/// cannot trace (the site's view of it, `_remote`); from minute 10 `name` of `search`
/// is `search_factor` times what it was and the balancer's view `balancer_factor`.
fn behind_a_balancer(
    name: &str,
    level: f64,
    search_factor: f64,
    balancer_factor: f64,
) -> Observations {
    let signal = metric(
        name,
        vec![
            ("search", series(level, 1, 10, search_factor)),
            ("search.elb_remote", series(level, 2, 10, balancer_factor)),
            ("list", series(level, 3, 10, 1.0)),
            ("site", series(level, 4, 10, 1.0)),
        ],
    );
    mapped(
        vec![signal],
        &[
            ("site", "search"),
            ("site", "list"),
            ("site", "search.elb_remote"),
        ],
    )
}

/// Asserts that `service`'s line of the report says `en` in English and `zh` in
/// Chinese.
fn report_says(obs: &Observations, service: &str, en: &str, zh: &str) {
    for (lang, says) in [(aegis_i18n::Lang::En, en), (aegis_i18n::Lang::ZhCn, zh)] {
        let mut asked = input();
        asked.language = lang;
        let r = report(&asked, obs);
        let line = r
            .ranked_root_causes
            .iter()
            .find(|c| c.service == service)
            .map(|c| c.description.as_str());
        assert!(line.is_some_and(|l| l.contains(says)), "{lang:?}: {line:?}");
    }
}

#[test]
fn a_caller_s_view_of_a_load_balancer_echoes_the_traced_service_behind_it() {
    // The site's view of the balancer rises x9, `search`'s own p99 x2 at the same
    // minute. The balancer has no callees to explain it; the traced service the same
    // caller reaches does.
    let obs = behind_a_balancer("latency_p99_seconds", 0.05, 2.0, 9.0);
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "search", "{ranking:#?}");
    let balancer = ranking.candidate("search.elb_remote").unwrap();
    assert_eq!(balancer.change.latency_echo.as_deref(), Some("search"));
    // The report says why its loud rise counts for little, in either language.
    report_says(
        &obs,
        "search.elb_remote",
        "rose with search's and is taken as that one's echo",
        "随 search 一起上升，视为后者的回声",
    );
    let plain = crate::rank_with(&obs, &without(|s| s.latency_origin = false));
    assert_eq!(
        plain.candidates[0].service, "search.elb_remote",
        "{plain:#?}"
    );
}

#[test]
fn a_caller_s_view_of_a_load_balancer_fails_with_the_traced_service_behind_it() {
    // The calls the site makes through the balancer fail because `search` behind it
    // fails: the site's view of the balancer shows a 40% error ratio, `search`'s own
    // (over all its requests) 3%, from the same minute. The balancer has no callees
    // to explain its errors.
    let obs = behind_a_balancer("error_ratio", 0.01, 3.0, 40.0);
    let ranking = rank(&obs);
    assert_eq!(ranking.candidates[0].service, "search", "{ranking:#?}");
    let balancer = ranking.candidate("search.elb_remote").unwrap();
    assert_eq!(balancer.change.error_echo.as_deref(), Some("search"));
    assert_eq!(balancer.change.latency_echo, None);
    // `search`'s errors are its own: nothing stands behind a traced service.
    assert_eq!(ranking.candidate("search").unwrap().change.error_echo, None);
    report_says(
        &obs,
        "search.elb_remote",
        "errors rose with search's and are taken as that one's",
        "它的错误随 search 一起上升，视为后者的错误",
    );
    // The rule goes with the latency's origin: without it the balancer keeps its
    // errors as its own evidence (its view weight alone keeps it second here).
    let plain = crate::rank_with(&obs, &without(|s| s.latency_origin = false));
    let kept = plain.candidate("search.elb_remote").unwrap();
    assert_eq!(kept.change.error_echo, None);
    assert!(
        balancer.score < 0.5 * kept.score,
        "{} against {}",
        balancer.score,
        kept.score
    );
}

#[test]
fn a_slow_host_is_no_echo_of_a_service_that_waits_on_it() {
    // The site calls an outside API it cannot trace, and so does `pay`, which the
    // site calls too: the API slows x9 and `pay`, waiting on it, x5 at the same
    // minute. `pay` is the API's echo, not the service behind it: the host's rise
    // stays its own.
    let latency = metric(
        "latency_p99_seconds",
        vec![
            ("api.example.com_remote", series(0.2, 1, 10, 9.0)),
            ("pay", series(0.25, 2, 10, 5.0)),
            ("list", series(0.04, 3, 10, 1.0)),
        ],
    );
    let obs = mapped(
        vec![latency],
        &[
            ("site", "pay"),
            ("site", "list"),
            ("site", "api.example.com_remote"),
            ("pay", "api.example.com_remote"),
        ],
    );
    let ranking = rank(&obs);
    let host = ranking.candidate("api.example.com_remote").unwrap();
    assert_eq!(host.change.latency_echo, None, "{ranking:#?}");
}
