# LLM 智能体的分析写给人看的部分：为何用统计引擎的报告代替模型的回答，以及何时保留统计引擎的排序。
agent-fallback = LLM 智能体（{ $model }）没有给出有效回答：{ $reason }；以下是统计引擎的报告
agent-guard-no-ranking = 模型没有给出候选根因；保留统计引擎的排序。
agent-guard-kept = 统计引擎的首要候选 { $engine } 仍排在第一：模型引用的数据中没有提到 { $blamed }。
agent-no-cause = 无法确定根因：{ $reason }。
agent-engine-late = 统计引擎没有在分给它的时间内完成

# 智能体没有给出回答的原因（agent-fallback 中的 reason）。
agent-stop-wall-clock = 分析的时间预算已用完
agent-stop-steps = 已达到 { $max } 轮的步数上限
agent-stop-tokens = { $budget } 个 token 的预算已用完（已用 { $spent } 个）
agent-stop-context = 即使压缩后，提示仍超出模型的上下文：{ $message }
agent-stop-model = 模型 { $model } 调用失败：{ $error }
agent-stop-invalid = 修正一次后最终回答仍然无效：{ $problems }
