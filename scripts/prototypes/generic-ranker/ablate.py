"""Ablations around one configuration (given as k=v args): AC@1 / AC@3 per system."""
import sys
import evaluate

base = {}
for a in sys.argv[1:]:
    k, v = a.split("=", 1)
    base[k] = eval(v)
VARIANTS = [
    ("full", {}),
    ("onset: last third of range (no change-point detection)", dict(use_onset=False)),
    ("onset: BOCPD, unweighted sum over series", dict(onset_weighted=False)),
    ("onset: BOCPD, weighted by directional jump", dict(onset_weighted=True)),
    ("onset: true fault start (oracle, reference only)", dict(oracle_onset=True)),
    ("no call graph (no discount, no network credit, no support)", dict(use_graph=False)),
    ("graph: no callee discount", dict(callee_discount=0.0)),
    ("graph: no network credit from callers' client latency", dict(net_credit=0.0)),
    ("scale: IQR instead of MAD", dict(scale="iqr")),
    ("scale: MAD instead of IQR", dict(scale="mad")),
    ("no request-count noise floor", dict(count_noise=False)),
    ("client-view nodes (_remote/_client) not down-weighted", dict(client_view_weight=1.0)),
    ("no history before the range", dict(history_s=0)),
    ("persist: 1 sample", dict(persist_s=1)),
    ("metrics only", dict(sources=("metric",))),
    ("no logs", dict(sources=("metric", "trace"))),
    ("no traces", dict(sources=("metric", "log"))),
    ("no metrics", dict(sources=("log", "trace"))),
    ("logs: no template shares", dict(weights=dict(logmix=0.0))),
]
print("| variant | Nezha OB | Nezha TT | PetShop |")
print("| --- | --- | --- | --- |")
for name, kw in VARIANTS:
    cfg = evaluate.cfg_with(evaluate.cfg_with(**base), **kw)
    cells = []
    for s in evaluate.SYSTEMS:
        rows = evaluate.run_system(s, cfg)
        cells.append("%.3f / %.3f" % (evaluate.acc(rows, 1), evaluate.acc(rows, 3)))
    print("| %s | %s |" % (name, " | ".join(cells)), flush=True)
