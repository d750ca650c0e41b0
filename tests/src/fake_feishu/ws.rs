//! The fake's long connection: `POST /callback/ws/endpoint` and a WebSocket speaking
//! the `pbbp2` protobuf frames; it pushes events (optionally in fragments) and records
//! the client's acks and pings.

/// State of the fake long connection (events to push, acks received).
#[derive(Clone, Default)]
pub struct WsState {}

/// The routes of the long connection, merged into the fake's router.
pub fn router(state: WsState) -> axum::Router {
    let _ = state;
    axum::Router::new()
}
