//! Recorded telemetry (an incident dataset) served behind the real Prometheus, Loki and
//! Jaeger query APIs, for the demo, the tests and the evaluation.
