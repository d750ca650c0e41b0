"""Grid over a few settings; leave-one-system-out selection; calibration refit.
Writes results/grid.json (per config, per system, per case: rank and scores)."""
import itertools, json, math, os, sys, time
import evaluate, rank

GRID = dict(
    scale=["iqr", "mad"],
    onset_weighted=[False, True],
    callee_discount=[0.5, 1.0],
    caller_support=[0.0, 0.5],
    client_view_weight=[0.5, 1.0],
    weights=[dict(logmix=1.0, traffic=0.5), dict(logmix=0.5, traffic=0.25)],
)
TEMPS = [0.25, 0.35, 0.5, 0.7, 1.0]
UNK = [0.5, 1.0, 1.5, 2.0]


def probs(score, T, u):
    mx = max(max(score.values()), u)
    ws = {s: math.exp((v - mx) / T) for s, v in score.items()}
    wu = math.exp((u - mx) / T)
    Z = sum(ws.values()) + wu
    return {s: w / Z for s, w in ws.items()}


def main():
    os.makedirs("results", exist_ok=True)
    out = []
    keys = list(GRID)
    for combo in itertools.product(*[GRID[k] for k in keys]):
        kw = dict(zip(keys, combo))
        cfg = evaluate.cfg_with(**kw)
        rec = dict(cfg=kw, systems={})
        for sysname in evaluate.SYSTEMS:
            rows = evaluate.run_system(sysname, cfg, detail=True)
            rec["systems"][sysname] = [dict(id=r["id"], truth=r["truth"], rank=r["rank"],
                                            score=r["res"]["score"]) for r in rows]
        out.append(rec)
        s = {k: (evaluate.acc(v, 1), evaluate.acc(v, 3)) for k, v in rec["systems"].items()}
        print(kw, {k: "%.2f/%.2f" % v for k, v in s.items()}, flush=True)
    json.dump(out, open("results/grid.json", "w"))


if __name__ == "__main__":
    main()
