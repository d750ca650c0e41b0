# 告警卡片。
alert-title-firing = [告警中] { $name }（{ $count }）
alert-title-resolved = [已恢复] { $name }（{ $count }）
alert-subtitle = 级别 { $severity } · 接收方 { $receiver }
alert-started-firing = 开始于 { $started } · 已持续 { $duration }
alert-started-resolved = 开始于 { $started } · { $duration }后恢复
alert-more = ……另有 { $count } 条
alert-group = 分组 { $key }

# 事件卡片。
incident-opening-line = 事件 { $id } · 该事件后续的告警都会发在此话题中
incident-title-firing = [告警中] { $headline } · { $firing } 条告警中
incident-title-resolved = [已恢复] { $headline } · 持续 { $duration }后恢复
incident-subtitle = 事件 { $id } · 级别 { $severity }
incident-status-firing = **告警中**，开始于 { $since }（已持续 { $duration }）
incident-status-resolved = **已恢复**，恢复于 { $at }，共持续 { $duration }
incident-alerts = 告警：{ $firing } 条告警中 · { $resolved } 条已恢复 · { $groups } 个告警分组
incident-services = 服务：{ $services }
incident-analysis-top = 最新分析（#{ $generation }）：最可能是 **{ $top }**，详情见话题
incident-analysis-failed = 最新分析（#{ $generation }）失败，详情见话题
incident-analysis-unclear = 最新分析（#{ $generation }）未找到明确原因
incident-analysis-running = 分析 #{ $generation } 进行中……
incident-note = 事件 { $id }
incident-timeline = 时间线
incident-superseded-title = 已被取代：分析 #{ $generation }
incident-superseded-top = 分析 #{ $generation } 首先指向 **{ $top }**；事件扩大后的新分析见下方。
incident-superseded = 分析 #{ $generation } 已被取代；事件扩大后的新分析见下方。

# 事件自动分析的问题（引擎的症状、模型的问题）。
incident-question = 事件 { $id }（分析 #{ $generation }）涉及服务 { $services }。
incident-question-no-services = 事件 { $id }（分析 #{ $generation }）。
alert-question = 告警 { $name } 正在触发（{ $count } 条告警，级别 { $severity }）。请找出根因。
