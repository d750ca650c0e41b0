//! A real Alertmanager (Debian `prometheus-alertmanager`) on a free port.
