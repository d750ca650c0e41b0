# 群聊中的回复。
chat-ack = 收到，正在分析…
chat-forbidden-chat = 抱歉，这个群还没有开通 Aegis 问答，请联系管理员把它加入 AEGIS_ALLOWED_CHATS。
chat-forbidden-user = 抱歉，你还没有使用 Aegis 的权限，请联系管理员把你加入 AEGIS_ALLOWED_USERS。
chat-busy = 这个群已有 { $limit } 个分析在进行，请稍后再问。
chat-too-long = 问题太长了（最多 { $max } 字）。
chat-empty = 请写下要分析的问题。
chat-empty-range = 时间范围不对：结束时间必须晚于开始时间。
chat-range-backwards = 时间范围“{ $phrase }”的结束早于开始。
chat-range-future = 时间范围“{ $phrase }”的开始在未来。
chat-range-empty = 时间范围“{ $phrase }”的长度为零。
chat-usage =
    用法：@AegisBot [模型] [时间] 问题
    模型：{ $models }（默认：配置的模型）
    时间：最近30分钟、过去2小时、今天14:00以来、昨晚23点到今天1点（默认：最近15分钟）
    示例：@AegisBot qwen 最近30分钟 checkout 为什么 5xx

# 分析未能完成时。
chat-failed = 抱歉，这次分析没有完成：{ $reason }。{ $details }
chat-failed-timeout = 分析超时
chat-failed-backend = 数据源不可用
chat-failed-model = 模型调用失败
chat-failed-internal = 内部错误
chat-failed-no-details = 没有更多信息
