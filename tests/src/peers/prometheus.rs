//! A real Prometheus (Debian `prometheus`), optionally loaded with a dataset through `promtool tsdb create-blocks-from openmetrics`.
