"""Leave-one-system-out selection over results/grid.json, calibration, reliability table."""
import json, math, sys
from tune import probs, TEMPS, UNK

grid = json.load(open("results/grid.json"))
SYS = ["nezha-ob", "nezha-tt", "petshop"]


def acc(rows, k):
    return sum(r["rank"] <= k for r in rows) / len(rows)


def obj(rec, systems):
    return sum((acc(rec["systems"][s], 1) + acc(rec["systems"][s], 3)) / 2 for s in systems) / len(systems)


def ll(rows, T, u):
    tot = 0.0
    for r in rows:
        p = probs(r["score"], T, u)
        tot += math.log(max(p.get(r["truth"], 0.0), 1e-6))
    return tot / len(rows)


def calib(rows, T, u):
    out = []
    for r in rows:
        p = probs(r["score"], T, u)
        top = max(p, key=p.get)
        out.append((p[top], top == r["truth"], 1 - sum(p.values())))
    return out


def fit_temp(rows_by_sys, systems):
    best = None
    for T in TEMPS:
        for u in UNK:
            v = sum(ll(rows_by_sys[s], T, u) for s in systems) / len(systems)
            if best is None or v > best[0]:
                best = (v, T, u)
    return best[1], best[2]


def main():
    print("## all-system best (in-sample, for reference)")
    best_all = max(grid, key=lambda r: obj(r, SYS))
    print(best_all["cfg"], {s: "%.3f/%.3f" % (acc(best_all["systems"][s], 1), acc(best_all["systems"][s], 3)) for s in SYS})
    print("\n## leave-one-system-out")
    pooled = []
    table = []
    for held in SYS:
        train = [s for s in SYS if s != held]
        top = max(obj(r, train) for r in grid)
        cands = [r for r in grid if obj(r, train) >= top - 1e-9]
        rec = cands[0]
        T, u = fit_temp(rec["systems"], train)
        rows = rec["systems"][held]
        cal = calib(rows, T, u)
        pooled += cal
        ptop = sum(c[0] for c in cal) / len(cal)
        table.append((held, acc(rows, 1), acc(rows, 3), acc(rows, 5), ptop, ll(rows, T, u), len(cands)))
        print("held out %-9s  chosen on %s: %s T=%.2f u=%.1f (%d configs tie on train)" % (
            held, "+".join(train), rec["cfg"], T, u, len(cands)))
        print("   held-out AC@1 %.3f AC@3 %.3f AC@5 %.3f mean top p %.3f LL %.2f" % table[-1][1:6])
        # spread of held-out result over the tied configs
        if len(cands) > 1:
            a1 = [acc(c["systems"][held], 1) for c in cands]
            a3 = [acc(c["systems"][held], 3) for c in cands]
            print("   over the %d tied configs: AC@1 %.3f-%.3f, AC@3 %.3f-%.3f" % (len(cands), min(a1), max(a1), min(a3), max(a3)))
    print("\n## reliability (pooled held-out predictions)")
    bins = [(0, .2), (.2, .4), (.4, .6), (.6, .8), (.8, 1.01)]
    for lo, hi in bins:
        b = [c for c in pooled if lo <= c[0] < hi]
        if b:
            print("   top p in [%.1f, %.1f): n=%2d  mean top p %.2f  AC@1 %.2f  mean unknown %.2f" % (
                lo, min(hi, 1), len(b), sum(c[0] for c in b) / len(b), sum(c[1] for c in b) / len(b),
                sum(c[2] for c in b) / len(b)))
    print("   overall: mean top p %.3f, AC@1 %.3f" % (sum(c[0] for c in pooled) / len(pooled),
                                                    sum(c[1] for c in pooled) / len(pooled)))


if __name__ == "__main__":
    main()
