# Replies in the chat.
chat-ack = Got it, analysing…
chat-forbidden-chat = Sorry, this chat is not allowed to ask Aegis; ask an admin to add it to AEGIS_ALLOWED_CHATS.
chat-forbidden-user = Sorry, you are not allowed to ask Aegis; ask an admin to add you to AEGIS_ALLOWED_USERS.
chat-busy = { $limit ->
    [one] This chat already has an analysis running; please ask again in a few minutes.
   *[other] This chat already has { $limit } analyses running; please ask again in a few minutes.
}
chat-too-long = The question is longer than { $max } characters.
chat-empty = Please write the question to analyse.
chat-empty-range = The time range is empty: it must end after it starts.
chat-range-backwards = The time range "{ $phrase }" ends before it starts.
chat-range-future = The time range "{ $phrase }" starts in the future.
chat-range-empty = The time range "{ $phrase }" has no length.
chat-usage =
    Usage: @AegisBot [model] [time] question
    Models: { $models } (default: the configured model)
    Time: last 2h, since 14:00, yesterday 23:00-01:00, 最近30分钟 (default: the last 15 minutes)
    Example: @AegisBot qwen last 30 min why is checkout returning 5xx

# When an analysis could not finish.
chat-failed = Sorry, this analysis did not finish: { $reason }. { $details }
chat-failed-timeout = it ran out of time (timeout)
chat-failed-backend = a data source is unavailable (backend)
chat-failed-model = the model call failed (model)
chat-failed-internal = an internal error (internal)
chat-failed-no-details = no details
