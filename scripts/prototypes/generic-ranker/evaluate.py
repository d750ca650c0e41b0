"""Score the prototype: AC@k per dataset / system, calibration, onset error."""
import sys, math, copy, collections, json
import load, rank

SYSTEMS = {"nezha-ob": ["nezha-ob-2022-08-22"], "nezha-tt": ["nezha-tt-2023-01-29"],
           "petshop": ["petshop-high-traffic-train", "petshop-low-traffic-train",
                       "petshop-temporal-traffic1-train", "petshop-temporal-traffic2-train"]}
_DS = {}


def ds(name):
    if name not in _DS:
        _DS[name] = load.load(name)
    return _DS[name]


def cfg_with(base=None, **kw):
    c = copy.deepcopy(base or rank.DEFAULT)
    for k, v in kw.items():
        if k == "weights":
            c["weights"].update(v)
        else:
            c[k] = v
    return c


def run_system(system, cfg, detail=False):
    rows = []
    for name in SYSTEMS[system]:
        d = ds(name)
        for case in d["cases"]:
            t = d["truth"][case["id"]]
            if cfg.get("oracle_onset"):
                case = dict(case, _oracle=load.iso(t["fault_start"]))
            r = rank.rank_case(d, case, cfg, detail=detail)
            rk = r["ranked"].index(t["service"]) + 1 if t["service"] in r["ranked"] else 999
            top = r["ranked"][0]
            onset_err = (r["onset"] - load.iso(t["fault_start"])) / 60.0
            rows.append(dict(id=case["id"], ds=name, fault=t["fault"], truth=t["service"], rank=rk,
                             top=top, ptop=r["prob"][top], ptrue=r["prob"].get(t["service"], 0.0),
                             punk=r["p_unknown"], onset_err=onset_err, n=len(d["services"]),
                             res=r if detail else None))
    return rows


def acc(rows, k):
    return sum(r["rank"] <= k for r in rows) / max(1, len(rows))


def summary(rows):
    return dict(n=len(rows), ac1=acc(rows, 1), ac3=acc(rows, 3), ac5=acc(rows, 5),
                avg5=sum(acc(rows, k) for k in range(1, 6)) / 5,
                ptop=sum(r["ptop"] for r in rows) / max(1, len(rows)),
                ll=sum(math.log(max(r["ptrue"], 1e-6)) for r in rows) / max(1, len(rows)),
                chance=sum(1.0 / r["n"] for r in rows) / max(1, len(rows)),
                onset1=sum(abs(r["onset_err"]) <= 1.5 for r in rows) / max(1, len(rows)))


def fmt(s):
    return "n=%2d AC@1 %.3f AC@3 %.3f AC@5 %.3f Avg@5 %.3f ptop %.2f LL %.2f chance %.3f onset<=1.5min %.2f" % (
        s["n"], s["ac1"], s["ac3"], s["ac5"], s["avg5"], s["ptop"], s["ll"], s["chance"], s["onset1"])


if __name__ == "__main__":
    cfg = rank.DEFAULT
    for a in sys.argv[1:]:
        if "=" in a:
            k, v = a.split("=", 1)
            cfg = cfg_with(cfg, **{k: eval(v)})
    for sysname in SYSTEMS:
        rows = run_system(sysname, cfg)
        print("%-9s" % sysname, fmt(summary(rows)))
        if "-v" in sys.argv:
            for r in rows:
                print("   %-42s %-15s rank %3d top %-35s p %.2f onset_err %+.1f" % (
                    r["id"], r["fault"], r["rank"], r["top"][:35], r["ptop"], r["onset_err"]))
