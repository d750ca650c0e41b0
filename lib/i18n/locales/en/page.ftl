# The report page (HTML). Service, metric and tool names, queries, ids and units stay
# as they are.
page-title = Analysis { $id }
page-heading = Root-cause analysis
page-id = id { $id }
page-model = model { $model }
page-usage = { $calls ->
    [one] { $calls } tool call
   *[other] { $calls } tool calls
}, { $tokens } tokens
page-feedback = Feedback: { $verdict } · { $at }
page-degraded = Degraded:
page-ranked = Ranked root causes
page-no-candidate = No candidate stood out.
page-col-service = Service
page-col-probability = Probability
page-col-what = What is wrong
page-unknown = unknown
page-none-of-the-above = none of the above
page-similar = Similar past incidents
page-col-when = When
page-col-cause = Cause found
page-col-alike = Alike
page-col-summary = Summary
page-col-feedback = Feedback
page-no-cause = none
page-graph = Call graph
page-graph-label = call graph
page-graph-legend = Callers left, callees right; candidates numbered by rank.
page-next-steps = Next steps
page-tool-calls = Tool calls
page-no-tool-calls = None: the statistical engine read the backends directly.
page-col-tool = Tool
page-col-input = Input and result
page-result = result
page-no-chart = (no chart: { $reason })
page-chart-too-short = a chart needs at least two points
page-chart-caption = { $summary }. Grey: the baseline part; dashed: the usual level; red: from the onset.
page-log-templates = Log templates
page-spans = Slow or failing spans

# The report as Markdown; its headings shared with the page use the page's messages.
md-range = **Range:** { $start } → { $end }
md-model = **Model:** { $model }
md-duration = **Duration:** { $ms } ms; { $calls ->
    [one] { $calls } tool call
   *[other] { $calls } tool calls
}, { $prompt } prompt + { $completion } completion tokens
md-not-archived = **Not archived:** the report store was unavailable
md-feedback = **Feedback:** { $verdict } ({ $at })
md-col-description = Description
md-key-indicators = **Key indicators**
md-key-logs = **Key logs**
md-evidence = **Evidence**
md-next-actions = Next actions
md-similar = { $at } ({ $id }, { $percent }% alike){ $top }: { $summary }{ $feedback }
md-similar-top = , top cause { $service }
md-similar-feedback = { " " }Feedback: { $verdict }.
md-degraded = Degraded sources
md-trace = Trace
md-step = Step { $index }: { $tool }

# The incident page (HTML).
incident-page-title = Incident { $id }
incident-page-heading = Incident: { $headline }
incident-page-severity = severity { $severity }
incident-page-since = since { $at }
incident-page-resolved-at = resolved { $at }
incident-page-counts = { $firing } firing · { $resolved } resolved · { $groups ->
    [one] { $groups } alert group
   *[other] { $groups } alert groups
} · services: { $services }
incident-page-timeline = Timeline
incident-page-when = when
incident-page-what = what
incident-page-alerts-arrived = alert group { $name } { $status } ({ $count ->
    [one] { $count } alert
   *[other] { $count } alerts
})
incident-page-new-services = · new services: { $services }
incident-page-requested = analysis #{ $generation } asked for
incident-page-done-top = analysis { $id } finished: most likely { $top }
incident-page-done-failed = analysis { $id } failed: { $reason }
incident-page-done-unclear = analysis { $id } finished with no clear cause
incident-page-verdict = verdict on { $id }: { $verdict }
incident-page-resolved = every alert resolved
incident-page-alerts = Alerts
incident-page-col-alert = alert
incident-page-col-severity = severity
incident-page-col-status = status
incident-page-col-where = where
incident-page-col-started = started
