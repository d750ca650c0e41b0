# The statistical engine's report: indicators (short), evidence (with numbers), the
# summary and next steps. Service, signal and metric names and units stay as they are.
rca-metric-indicator = { $signal } { $from } -> { $to } since { $since }
rca-metric-chart = { $signal } of { $service }
rca-metric-evidence = { $signal } of { $service }: { $from } -> { $to } from { $since } (x{ $factor }, z { $z })
rca-logs-indicator = { $incident } error/warning lines after the onset ({ $baseline } before), { $new } new templates
rca-logs-evidence = { $incident } error/warning lines in the incident part, { $baseline } in the baseline; { $new } templates not seen before
rca-mentions-indicator = named in the rising errors of { $by }
rca-mentions-evidence = error lines of { $by } that name { $service } rose in the incident part
rca-drift-indicator = its log mix changed: "{ $template }" was { $usual }% of its lines, now { $now }%
rca-drift-evidence = "{ $template }": usually { $usual }% of its lines (median of { $minutes } minutes before the incident), { $now }% of its { $lines } lines in the incident part
rca-invariant-indicator = its logs broke a ratio they kept: "{ $more }" { $more_count } : "{ $less }" { $less_count } (usually { $ratio }:1)
rca-invariant-evidence = "{ $more }" came { $ratio }:1 to "{ $less }" in { $minutes } minutes before the incident; { $more_count } : { $less_count } in the incident part
rca-traffic-indicator = its requests stopped reaching { $follower }: { $follower } had { $ratio } requests per request of { $service }, below half that in { $below } of { $samples } samples since the onset
rca-traffic-evidence = { $signal }: series service="{ $follower }" kept { $ratio }x series service="{ $service }" in { $kept } of { $history } samples before the incident; below half that in { $below } of { $samples } samples of it while { $service }'s own held
rca-spans-indicator = median span { $from } ms -> { $to } ms, self time x{ $self_time }
rca-spans-call-mix = its calls to other services changed
rca-spans-network = calls to it spend x{ $factor } as long outside its spans (network)
rca-spans-busy = its calls to two services or more spend x{ $factor } as long outside their spans (busy: slow to send and read)
rca-spans-evidence = { $spans } spans in the incident part; median duration { $from } ms -> { $to } ms; error share +{ $errors }%
rca-changed-slightly = { $service } changed slightly
rca-described = { $service }: { $indicators }
rca-blamed-by-errors = { $description }. Its new errors name { $other }, which may be the origin
rca-calls-anomalous = { $description }. It calls { $other }, which is anomalous too and may be the origin
rca-seen-by-client = { $description }. Its requests from clients it cannot trace ({ $view }) departed more, and count as its own
rca-latency-echo = { $description }. Its latency rose with { $other }'s and is taken as that one's echo, not its own
rca-error-echo = { $description }. Its errors rose with { $other }'s and are taken as that one's, not its own
rca-symptom = Symptom: { $symptom }.
rca-top = Most likely root cause: { $service } (probability { $percent }%), changing from about { $since }.
rca-unclear = No service stands out clearly ({ $percent }% unexplained); the strongest change is in { $service }.
rca-nothing = No telemetry showed a change in this range.
rca-origin-unresolved = Metrics alone cannot tell where the latency began: { $services } slowed together, and with no call graph or traces any of them may be the origin and the others its callers; their probability is shared.
rca-telemetry-ended = Logs and traces end at { $at }, { $minutes } minutes before the incident, and show nothing of it.
rca-ranked-without = Ranked without: { $what }.
rca-next-changes = Check what changed in { $service } around { $at } (deploys, config, dependencies).
rca-next-read = Read { $service }'s logs and slowest traces in the range; the evidence lists the exact queries.
rca-next-others = If { $service } is healthy, look at { $others } next.
