# The alert card.
alert-title-firing = [FIRING] { $name } ({ $count })
alert-title-resolved = [RESOLVED] { $name } ({ $count })
alert-subtitle = severity { $severity } · receiver { $receiver }
alert-started-firing = started { $started } · firing for { $duration }
alert-started-resolved = started { $started } · resolved after { $duration }
alert-more = … and { $count } more
alert-group = group { $key }

# The incident card.
incident-opening-line = incident { $id } · later alerts of it go into this thread
incident-title-firing = [FIRING] { $headline } · { $firing } firing
incident-title-resolved = [RESOLVED] { $headline } · resolved after { $duration }
incident-subtitle = incident { $id } · severity { $severity }
incident-status-firing = **firing** since { $since } ({ $duration })
incident-status-resolved = **resolved** at { $at } after { $duration }
incident-alerts = alerts: { $firing } firing · { $resolved } resolved · { $groups ->
    [one] { $groups } alert group
   *[other] { $groups } alert groups
}
incident-services = services: { $services }
incident-analysis-top = latest analysis (#{ $generation }): most likely **{ $top }**, details in the thread
incident-analysis-failed = latest analysis (#{ $generation }) failed, see the thread
incident-analysis-unclear = latest analysis (#{ $generation }) found no clear cause
incident-analysis-running = analysis #{ $generation } running…
incident-note = incident { $id }
incident-timeline = timeline
incident-superseded-title = Superseded: analysis #{ $generation }
incident-superseded-top = Analysis #{ $generation } named **{ $top }** first; a newer analysis of the grown incident is below.
incident-superseded = Analysis #{ $generation } is superseded; a newer analysis of the grown incident is below.

# What an incident's automatic analysis is asked (the engine's symptom, the model's question).
incident-question = Incident { $id } (analysis #{ $generation }) over services { $services }.
incident-question-no-services = Incident { $id } (analysis #{ $generation }).
alert-question = Alert { $name } is firing ({ $count ->
    [one] { $count } alert
   *[other] { $count } alerts
}, severity { $severity }). Find the root cause.
