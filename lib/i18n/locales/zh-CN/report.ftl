# 群聊中的结果卡片。
card-title = 根因分析
card-title-top = 根因分析：{ $service }（{ $percent }%）
card-summary = **结论**
card-candidate = **{ $rank }. { $service }** · 概率 { $percent }%
card-log = 日志：{ $line }
card-query = 查询：{ $query }
card-next-steps = **下一步**
card-similar = **相似的历史事件**
card-similar-line = { $at } · { $service } · 相似度 { $percent }%：{ $summary }
card-no-cause = 未找到原因
card-ask = **{ $service }** 是根因吗？
card-model = 模型 { $model }
card-degraded = 降级：{ $what }
card-full-report = 完整报告
card-id = 编号 { $id }
