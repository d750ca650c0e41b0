//! A scripted OpenAI-compatible chat-completions server, streamed and not, recording what it receives.
