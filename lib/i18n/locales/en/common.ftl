# Lengths of time, in their two largest units.
duration-seconds = { $s } s
duration-minutes = { $m } min
duration-hours = { $m ->
    [0] { $h } h
   *[other] { $h } h { $m } min
}
duration-days = { $h ->
    [0] { $d } d
   *[other] { $d } d { $h } h
}

# Alert severities and states, as cards show them.
severity-critical = critical
severity-error = error
severity-warning = warning
severity-info = info
severity-none = no severity
status-firing = firing
status-resolved = resolved

# The feedback buttons and what they record.
verdict-right-cause = right cause
verdict-wrong-cause = wrong cause

# Lists: "a, b and c".
list-and = { $head } and { $last }
list-separator = { ", " }
list-semicolon = { "; " }
