//! Reading a response in a test: a request that must be answered, and its body.

/// The body of the answer to `request`, as text; panics (failing the test) when the
/// request cannot be sent or the body read.
pub async fn text(request: reqwest::RequestBuilder) -> String {
    request
        .send()
        .await
        .expect("the request is answered")
        .text()
        .await
        .expect("the body is read")
}

/// The body of the answer to `request`, as JSON; panics when it is not JSON.
pub async fn json(request: reqwest::RequestBuilder) -> serde_json::Value {
    let body = text(request).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}
