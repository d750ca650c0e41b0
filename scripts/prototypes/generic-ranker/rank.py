"""Prototype ranker: BOCPD onset -> robust z per series -> per-service kind scores
-> call-graph adjustment -> probabilities.  Pure Python, no numpy, so the port is literal.
"""
import math, collections
import load

# ------------------------------------------------------------------ settings
DEFAULT = dict(
    history_s=3600,        # look-back before the range used as extra baseline
    min_lead_s=300,        # the onset is never inside the first 5 minutes
    hazard_per_range=1.0,  # BOCPD hazard = this / number of points in the range
    confirm_s=120,         # a change point must persist this long (>= 1 sample)
    scale_floor=0.10,      # floor of the robust scale, in log units (10 %)
    err_floor=0.002,
    count_noise=True,      # scale floor from the number of requests per sample
    lat_count_c=1.0,       # latency floor = c / sqrt(requests per sample), log units        # floor of the robust scale of a ratio in [0, 1]
    persist_s=120,         # a series' score = its z held this long (>= 1 sample)
    history_contiguous=True,  # history stops at the first recording gap > 3 samples
    caller_support=0.0,    # beta: bonus for a service whose callers show a propagating anomaly
    zcap=50.0,
    use_onset=True,        # False: onset = last third of the range (engine's rule)
    use_graph=True,
    callee_discount=1.0,   # gamma: share of the callee's propagating anomaly removed
    client_view_weight=0.5,  # weight of nodes that are a caller's view (X-Ray _remote/_client)
    weights=dict(resource=1.0, latency=1.0, error=1.0, traffic=0.5, client=0.5, network=1.0,
                 logvol=0.5, logmix=1.0),
    net_credit=1.0,        # network-delay credit from callers' client latency
    temperature=1.0,
    unknown_score=1.5,
    sources=("metric", "log", "trace"),
)

# which kind a signal is, and which direction is a symptom (+1 up, 0 either way)
KIND = {
    "cpu_seconds_rate": ("resource", +1),
    "memory_working_set_bytes": ("resource", +1),
    "network_receive_bytes_rate": ("traffic", 0),
    "network_transmit_bytes_rate": ("traffic", 0),
    "request_rate": ("traffic", 0),
    "error_ratio": ("error", +1),
    "latency_p90_seconds": ("latency", +1),
    "latency_p99_seconds": ("latency", +1),
    "client_latency_p90_seconds": ("client", +1),
    "log_lines": ("logvol", 0),
    "log_errors": ("error", +1),
    "span_p50": ("latency", +1),
    "span_count": ("traffic", 0),
    "span_error_ratio": ("error", +1),
    "net_gap_p50": ("network", +1),
}
RATIO = {"error_ratio", "span_error_ratio"}


def is_ratio(name):
    return name in RATIO or name.startswith("tpl")
PROPAGATING = ("latency", "error", "client")   # kinds a callee passes up to its callers


def kind_of(name):
    if name.startswith("tpl_err:"):
        return ("error", +1)
    if name.startswith("tpl:"):
        return ("logmix", 0)
    return KIND.get(name, ("traffic", 0))


def is_client_view(svc):
    # X-Ray service-map nodes inferred from the caller's own segments: their numbers
    # are what the caller measured (client side), not the service's own.
    return svc.endswith("_remote") or svc.endswith("_client")


# ------------------------------------------------------------------ statistics
def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    pos = q * (len(xs) - 1)
    lo = int(math.floor(pos)); hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def transform(name, xs_all):
    """A function mapping raw values to the scale the z-scores are taken on:
    ratios stay as they are, everything else is log(1 + x / typical)."""
    if is_ratio(name):
        return lambda v: v
    pos = [abs(v) for v in xs_all if v is not None and v != 0]
    m = median(pos) if pos else 1.0
    m = m or 1.0
    return lambda v: math.log1p(max(v, 0.0) / m)


# ------------------------------------------------------------------ BOCPD
def bocpd_cp_prob(ys, hazard, lag, prior_scale):
    """Adams & MacKay (2007) BOCPD, Gaussian with unknown mean and variance
    (Normal-Gamma prior: mu0 = first value, kappa0 = 1, alpha0 = 1, beta0 = prior_scale^2).
    Returns cp[t] = P(a run began at t and held `lag` further samples | y[0..t+lag]),
    i.e. the run-length posterior mass at r = lag, read `lag` samples later."""
    n = len(ys)
    cp = [0.0] * n
    if n < 3:
        return cp
    mu0, k0, a0, b0 = ys[0], 1.0, 1.0, prior_scale ** 2
    # parameters per run length
    mus, ks, as_, bs = [mu0], [k0], [a0], [b0]
    R = [1.0]
    for t, y in enumerate(ys):
        # predictive Student-t for every run length
        preds = []
        for mu, k, a, b in zip(mus, ks, as_, bs):
            var = b * (k + 1) / (a * k)
            df = 2 * a
            z = (y - mu) ** 2 / var
            lp = (math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
                  - 0.5 * math.log(df * math.pi * var) - (df + 1) / 2 * math.log1p(z / df))
            preds.append(math.exp(lp))
        growth = [r * p * (1 - hazard) for r, p in zip(R, preds)]
        cpm = sum(r * p * hazard for r, p in zip(R, preds))
        newR = [cpm] + growth
        tot = sum(newR) or 1e-300
        R = [r / tot for r in newR]
        # update sufficient statistics
        nmus, nks, nas, nbs = [mu0], [k0], [a0], [b0]
        for mu, k, a, b in zip(mus, ks, as_, bs):
            nmus.append((k * mu + y) / (k + 1))
            nks.append(k + 1)
            nas.append(a + 0.5)
            nbs.append(b + k * (y - mu) ** 2 / (2 * (k + 1)))
        mus, ks, as_, bs = nmus, nks, nas, nbs
        # R[r] at time t is P(run length r); r = lag means a run began at t - lag
        if t - lag >= 0 and lag < len(R):
            cp[t - lag] = R[lag]
    return cp


# ------------------------------------------------------------------ one case
def case_series(ds, case, cfg):
    """Per series: (service, source, name) -> list of values over the grid
    from history start to range end (None where no sample)."""
    step = ds["step"]
    s = math.ceil(load.iso(case["start"]) / step)
    e = int(load.iso(case["end"]) // step)
    h = s - int(cfg["history_s"] // step)
    if cfg.get("history_contiguous", True):
        # data on the other side of a recording gap is another regime (PetShop keeps
        # only the issue windows; the one before is another fault)
        covered = ds.get("_covered")
        if covered is None:
            covered = set()
            for d in ds["series"].values():
                covered.update(d.keys())
            ds["_covered"] = covered
        b = s
        miss = 0
        while b > h:
            if (b - 1) in covered:
                miss = 0
            else:
                miss += 1
                if miss > 3:
                    b = b + miss - 1
                    break
            b -= 1
        h = min(s, max(h, b))
    grid = list(range(h, e + 1))
    out = {}
    for key, d in ds["series"].items():
        if key[1] not in cfg["sources"]:
            continue
        vals = [d.get(b) for b in grid]
        if sum(v is not None for v in vals[s - h:]) < 2:
            continue
        out[key] = vals
    return grid, s - h, out   # index of the range start within grid


def find_onset(grid, i0, series, cfg, step):
    """Sum over series of the BOCPD change-point probability; the onset is its
    argmax within [range start + min_lead, range end - confirm]."""
    n = len(grid)
    lo = i0 + int(math.ceil(cfg["min_lead_s"] / step))
    lag = max(1, int(math.ceil(cfg["confirm_s"] / step)))
    hi = n - 1 - lag
    if hi < lo:
        lo = hi = max(i0, n - 1 - lag)
    if not cfg["use_onset"]:
        # the engine's rule: last third of the range
        return max(lo, min(hi, i0 + int(round(2 * (n - 1 - i0) / 3)))), None
    total = [0.0] * n
    for key, vals in series.items():
        xs = [v for v in vals[i0:] if v is not None]
        f = transform(key[2], [v for v in vals if v is not None])
        idx = [i for i in range(i0, n) if vals[i] is not None]
        if len(idx) < 4:
            continue
        ys = [f(vals[i]) for i in idx]
        pre = ys[: max(2, len(ys) // 3)]
        sc = max(mad(pre), cfg["err_floor"] if is_ratio(key[2]) else cfg["scale_floor"])
        cp = bocpd_cp_prob(ys, cfg["hazard_per_range"] / len(ys), lag, sc)
        direction = kind_of(key[2])[1]
        for j, i in enumerate(idx):
            if j > 0:   # the first sample always "starts a run"
                w = 1.0
                if cfg.get("onset_weighted", True):
                    # only a change in the symptom's direction, and by its size
                    d = (median(ys[j:j + lag + 1]) - median(ys[:j])) / sc
                    d = max(d, 0.0) if direction > 0 else abs(d)
                    w = min(d / 3.0, 1.0)
                total[i] += cp[j] * w
    best = max(range(lo, hi + 1), key=lambda i: (total[i], -i))
    return best, total


def mad(xs):
    if len(xs) < 2:
        return 0.0
    m = median(xs)
    return 1.4826 * median([abs(x - m) for x in xs])


def robust_scale(base, floor, how="iqr"):
    if how == "mad":
        return max(mad(base), floor)
    if len(base) >= 4:
        iqr = quantile(base, 0.75) - quantile(base, 0.25)
        sc = iqr / 1.349
    else:
        sc = mad(base)
    return max(sc, floor)


def series_score(key, vals, onset, i0, cfg, step, n_req=None):
    """Robust z of the post-onset part against the baseline (history + range before
    the onset); held over `persist` samples; in the symptom's direction."""
    name = key[2]
    kind, direction = kind_of(name)
    f = transform(name, [v for v in vals if v is not None])
    base = [f(v) for v in vals[:onset] if v is not None]
    post = [f(v) for v in vals[onset:] if v is not None]
    if len(base) < 1 or len(post) < 1:
        return 0.0
    floor = cfg["err_floor"] if is_ratio(name) else cfg["scale_floor"]
    m = median(base)
    if n_req and cfg.get("count_noise", True) and kind in ("error", "latency", "client"):
        # a ratio or a percentile measured over n requests has sampling noise ~ 1/sqrt(n)
        if is_ratio(name):
            p0 = min(max(m, 1.0 / n_req), 0.5)
            floor = max(floor, math.sqrt(p0 * (1 - p0) / n_req))
        else:
            floor = max(floor, cfg["lat_count_c"] / math.sqrt(n_req))
    sc = robust_scale(base, floor, cfg.get("scale", "iqr"))
    zs = [(y - m) / sc for y in post]
    if direction > 0:
        zs = [max(z, 0.0) for z in zs]
    else:
        zs = [abs(z) for z in zs]
    k = min(max(1, int(math.ceil(cfg["persist_s"] / step))), len(zs))
    held = max(min(zs[i:i + k]) for i in range(len(zs) - k + 1))
    return min(held, cfg["zcap"])


def squash(z):
    # z-scores from 1-2 baseline samples can be in the hundreds; compare them on a log scale
    return math.log1p(max(z, 0.0) / 3.0)


def rank_case(ds, case, cfg=DEFAULT, detail=False):
    step = ds["step"]
    grid, i0, series = case_series(ds, case, cfg)
    onset, cpcurve = find_onset(grid, i0, series, cfg, step)
    if cfg.get("oracle_onset") and "_oracle" in case:   # diagnostics only: the true start
        onset = max(1, min(len(grid) - 1, int(case["_oracle"] // step) - grid[0]))
    onset = max(0, onset - cfg.get("onset_back", 0))
    W = cfg["weights"]
    # per service, per kind: the strongest series of that kind
    kinds = collections.defaultdict(lambda: collections.defaultdict(float))
    why = collections.defaultdict(dict)
    nreq = {}
    for key, vals in series.items():
        if key[2] in ("request_rate", "span_count"):
            xs = [v for v in vals[i0:] if v is not None]
            n = median(xs) * step if xs else 0.0
            nreq[key[0]] = max(nreq.get(key[0], 0.0), n)
    for key, vals in series.items():
        z = series_score(key, vals, onset, i0, cfg, step, n_req=max(nreq.get(key[0], 0.0), 1.0) if key[0] in nreq else None)
        kind = kind_of(key[2])[0]
        a = squash(z)
        svc = key[0]
        if a > kinds[svc][kind]:
            kinds[svc][kind] = a
            why[svc][kind] = (key[1], key[2], round(z, 1))
    services = [s for s in ds["services"]]
    for s in services:
        kinds[s]
    graph = ds["graph"] if cfg["use_graph"] else set()
    callees = collections.defaultdict(set)
    callers = collections.defaultdict(set)
    for a, b in graph:
        callees[a].add(b); callers[b].add(a)

    def prop(s):
        return max([kinds[s][k] * W[k] for k in PROPAGATING] + [0.0])

    score = {}
    for s in services:
        own = {k: v * W.get(k, 0.5) for k, v in kinds[s].items()}
        p = max([own.get(k, 0.0) for k in PROPAGATING] + [0.0])
        nonp = max([v for k, v in own.items() if k not in PROPAGATING] + [0.0])
        if graph and callees[s]:
            worst = max(prop(c) * (cfg["client_view_weight"] if is_client_view(c) else 1.0)
                        for c in callees[s])
            p = p - cfg["callee_discount"] * min(p, worst)
        if graph and cfg["caller_support"] > 0 and callers[s]:
            sup = max(prop(c) for c in callers[s])
            p = p + cfg["caller_support"] * min(p, sup)
        sc = max(p, nonp)
        # network delay from metrics: callers' client-side latency rose while this
        # service's own server latency did not
        if graph and cfg["net_credit"] > 0 and callers[s]:
            cl = max(kinds[c]["client"] * W["client"] for c in callers[s])
            own_lat = kinds[s]["latency"] * W["latency"]
            sc = max(sc, cfg["net_credit"] * max(0.0, cl - own_lat))
        if is_client_view(s):
            sc *= cfg["client_view_weight"]
        score[s] = sc
    ranked = sorted(services, key=lambda s: -score[s])
    # probabilities: softmax with an "unknown" pseudo-candidate
    T = cfg["temperature"]
    mx = max(max(score.values()), cfg["unknown_score"])
    ws = {s: math.exp((score[s] - mx) / T) for s in services}
    wu = math.exp((cfg["unknown_score"] - mx) / T)
    Z = sum(ws.values()) + wu
    prob = {s: ws[s] / Z for s in services}
    res = dict(ranked=ranked, score=score, prob=prob, p_unknown=wu / Z,
               onset=grid[onset] * step, onset_idx=onset - i0)
    if detail:
        res["why"] = why
        res["kinds"] = kinds
    return res
