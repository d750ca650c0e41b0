use axum::Router;
use std::process::ExitCode;
use tower_http::timeout::TimeoutLayer;

use super::{BuildError, Context, Function};

/// Runs one function as a process: reads the serving settings (a bad variable exits
/// with one line naming it), builds the function (which reads its own part of the
/// configuration), starts logging and tracing, and serves it on `$PORT` (or under AWS
/// Lambda) until SIGTERM.
pub fn run(build: impl AsyncFnOnce(&Context) -> Result<Function, BuildError>) -> ExitCode {
    let ctx = match Context::from_lookup(aegis_core::config::process_env()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    block_on(async move {
        let function = match build(&ctx).await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let _telemetry = super::telemetry::init(&ctx.serve, function.name);
        let grace = shutdown_grace(&ctx.serve, &function);
        let app = mount(function, &ctx);
        match serve(app, &ctx.serve, grace).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                ExitCode::FAILURE
            }
        }
    })
}

/// Runs a process's main future on a fresh multi-threaded runtime; a runtime that
/// cannot start is reported on stderr as a failure.
pub fn block_on(main: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(main),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How long in-flight requests may finish after SIGTERM: `AEGIS_SHUTDOWN_GRACE`, and
/// never less than the function's own request timeout, so an analysis (whose timeout
/// is the analysis budget and a margin) is not cut short by a grace below its budget.
pub fn shutdown_grace(config: &super::ServeConfig, function: &Function) -> std::time::Duration {
    config.shutdown_grace.max(function.timeout)
}

/// One function's router with its timeout and the common layers.
pub fn mount(function: Function, ctx: &Context) -> Router {
    super::with_common_layers(with_timeout(function), &ctx.serve, &ctx.metrics)
}

/// One function's router with its own timeout (503 past it) and no common layers: the
/// `aegis` host mounts several of these under one set of common layers.
pub fn with_timeout(function: Function) -> Router {
    function.router.layer(TimeoutLayer::with_status_code(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        function.timeout,
    ))
}

/// Serves `app` on the configured port until SIGTERM or SIGINT; then stops accepting,
/// lets in-flight requests finish for up to the shutdown grace, and returns.
pub async fn serve(
    app: Router,
    config: &super::ServeConfig,
    grace: std::time::Duration,
) -> std::io::Result<()> {
    if config.lambda {
        return serve_lambda(app).await;
    }
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", config.port))
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on port {}: {e}", config.port),
            )
        })?;
    serve_on(listener, app, grace, config.header_read_timeout).await
}

/// Serves `app` as an AWS Lambda function (the Runtime API at `AWS_LAMBDA_RUNTIME_API`).
#[cfg(feature = "lambda")]
async fn serve_lambda(app: Router) -> std::io::Result<()> {
    lambda_http::run(app).await.map_err(std::io::Error::other)
}

/// Without the `lambda` feature: a clear refusal instead of listening on a port no
/// Lambda invocation reaches.
#[cfg(not(feature = "lambda"))]
async fn serve_lambda(_app: Router) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "AWS_LAMBDA_RUNTIME_API is set, but this binary was built without AWS Lambda support \
         (build it with --features lambda)",
    ))
}

/// Serves on an already bound listener (tests bind port 0) until SIGTERM or SIGINT.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    grace: std::time::Duration,
    header_read: std::time::Duration,
) -> std::io::Result<()> {
    serve_until(listener, app, grace, header_read, shutdown_signal()).await
}

/// Serves on an already bound listener until `stop` resolves; then stops accepting
/// (the listener is closed, so new connections are refused), lets in-flight requests
/// finish for up to `grace`, and returns. A connection that does not send a request's
/// headers within `header_read` of opening, or of its last response, is closed, so
/// half-sent requests and idle keep-alive connections cannot hold the process's file
/// descriptors. In-process hosts and tests pass their own `stop`; processes use
/// [`serve_on`], which stops on a signal.
///
/// The accept loop is hyper-util's, not `axum::serve`: axum does not give hyper the
/// timer its header-read timeout needs.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    app: Router,
    grace: std::time::Duration,
    header_read: std::time::Duration,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    // HTTP/1.1 only, as Knative's queue-proxy and Alertmanager speak to a function (and
    // as axum::serve did): the automatic HTTP/1-or-2 builder linked hyper's HTTP/2
    // server into every function for no caller.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait for some to close
                    // rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let service = TowerToHyperService::new(app.clone().map_request(
            |req: axum::http::Request<hyper::body::Incoming>| req.map(axum::body::Body::new),
        ));
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
    // Shortly before the grace ends, long responses are told to close cleanly.
    tokio::spawn(async move {
        tokio::time::sleep(grace.saturating_sub(CUT_NOTICE)).await;
        CUTTING.send_replace(true);
    });
    tokio::select! {
        () = graceful.shutdown() => Ok(()),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests still running after the shutdown grace; exiting");
            Ok(())
        }
    }
}

/// How long before the shutdown grace ends [`cutting`] fires: time for a streaming
/// response to write its last line.
const CUT_NOTICE: std::time::Duration = std::time::Duration::from_secs(2);

/// Set when the process is about to cut the responses still running (the shutdown
/// grace is nearly over).
static CUTTING: std::sync::LazyLock<tokio::sync::watch::Sender<bool>> =
    std::sync::LazyLock::new(|| tokio::sync::watch::channel(false).0);

/// Resolves shortly before the shutdown grace ends, when every response still running
/// is about to be cut: a streaming response ends itself with a last line that says so.
/// Never resolves while the process serves.
pub async fn cutting() {
    let mut rx = CUTTING.subscribe();
    // The sender is a static: it never closes.
    let _ = rx.wait_for(|cut| *cut).await;
}

/// Resolves on SIGTERM (Knative, Kubernetes) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_grace_covers_the_function_s_own_timeout() {
        let serve = Context::for_test().serve;
        let function = |secs| Function {
            name: "f",
            router: Router::new(),
            timeout: Duration::from_secs(secs),
        };
        assert_eq!(
            shutdown_grace(&serve, &function(255)),
            Duration::from_secs(255),
            "an analysis function's timeout is above the default 20 s grace"
        );
        assert_eq!(shutdown_grace(&serve, &function(5)), serve.shutdown_grace);
    }
}
