# The result card in the chat.
card-title = Root-cause analysis
card-title-top = Root-cause analysis: { $service } ({ $percent }%)
card-summary = **Summary**
card-candidate = **{ $rank }. { $service }** · probability { $percent }%
card-log = log: { $line }
card-query = query: { $query }
card-next-steps = **Next steps**
card-similar = **Similar past incidents**
card-similar-line = { $at } · { $service } · { $percent }% alike: { $summary }
card-no-cause = no cause
card-ask = Was **{ $service }** the cause?
card-model = model { $model }
card-degraded = degraded: { $what }
card-full-report = Full report
card-id = id { $id }
