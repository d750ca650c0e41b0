# What the LLM agent's analysis adds for people to read: why the engine's report stands
# in for the model's, and where the engine's ranking was kept over the model's.
agent-fallback = LLM agent ({ $model }) gave no valid answer: { $reason }; this is the statistical engine's report
agent-guard-no-ranking = The model ranked no candidate; the statistical engine's ranking is kept.
agent-guard-kept = The statistical engine's top candidate { $engine } is kept first: no data the model cited names { $blamed }.
agent-no-cause = No root cause could be determined: { $reason }.
agent-engine-late = the statistical engine did not finish within its share of the budget

# Why the agent gave no answer (the reason in agent-fallback).
agent-stop-wall-clock = the wall-clock budget is spent
agent-stop-steps = the step limit of { $max } is reached
agent-stop-tokens = the token budget of { $budget } is spent ({ $spent } used)
agent-stop-context = the prompt does not fit the model's context even compacted: { $message }
agent-stop-model = model { $model } failed: { $error }
agent-stop-invalid = the final answer is still invalid after one repair: { $problems }
