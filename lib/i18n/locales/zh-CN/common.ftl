# 时长，取最大的两个单位。
duration-seconds = { $s } 秒
duration-minutes = { $m } 分钟
duration-hours = { $m ->
    [0] { $h } 小时
   *[other] { $h } 小时 { $m } 分钟
}
duration-days = { $h ->
    [0] { $d } 天
   *[other] { $d } 天 { $h } 小时
}

# 告警级别与状态。
severity-critical = 严重
severity-error = 错误
severity-warning = 警告
severity-info = 提示
severity-none = 未定级
status-firing = 告警中
status-resolved = 已恢复

# 反馈按钮。
verdict-right-cause = 原因正确
verdict-wrong-cause = 原因不对

# 列举："a、b 和 c"。
list-and = { $head } 和 { $last }
list-separator = 、
list-semicolon = ；
