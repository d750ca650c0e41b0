# 数据源无法读取的原因，供人在卡片或页面上阅读（模型读到的是带建议的另一种说法）。
tool-not-configured = 未配置 { $api }（{ $variable } 未设置）
tool-refused = 已拒绝发往 { $api } 的 { $method } { $path }：不是只读查询接口，未发送任何请求
tool-invalid = 参数无效：{ $detail }
tool-range-too-long = 时间范围 { $requested } 秒，超过了允许的 { $max } 秒
tool-timeout = { $api } 在 { $seconds } 秒内没有响应
tool-unreachable = 无法连接 { $api }（{ $detail }）
tool-rejected = { $api } 拒绝了请求（HTTP { $status }）：{ $message }
tool-too-large = { $api } 返回的数据超过 { $limit } 字节
tool-failed = { $tool } 失败：{ $message }
tool-malformed = { $api } 返回的不是其 API 的 JSON（{ $detail }）
