//! The fake's HTTP API: tenant token, bot info, send, reply; scripted throttling and token expiry.
