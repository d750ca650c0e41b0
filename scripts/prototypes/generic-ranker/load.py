"""Load an incident dataset into per-service series on one time grid.

Output (cached as a pickle in $AEGIS_PROTO_CACHE/<id>.pkl, default /tmp/aegis-proto-cache):
  {
    "id", "system", "step": seconds between grid points,
    "services": [...],
    "series": {(service, source, name): {bucket: value}},   bucket = floor(ts / step)
    "graph": set((caller, callee)),   from `graph` in dataset.json and/or traces
    "cases": [...], "truth": {id: {...}},
  }
source is "metric", "log" or "trace".  Everything is keyed by the bucket index so a
Rust port can use a BTreeMap<i64, f64> per series.
"""
import gzip, json, os, pickle, re, sys, statistics, collections
from datetime import datetime, timezone

DEV = os.environ.get("AEGIS_EVAL_DEV", os.path.join(os.path.dirname(__file__), "../../../../shared/eval/dev"))
CACHE = os.environ.get("AEGIS_PROTO_CACHE", "/tmp/aegis-proto-cache")


def iso(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------- OpenMetrics
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)\s+(\S+)$')
LAB = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def read_om(path):
    """-> {metric_name: {labels_tuple: [(ts, value), ...]}}"""
    out = collections.defaultdict(lambda: collections.defaultdict(list))
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            name, _, labs, val, ts = m.groups()
            labels = tuple(sorted(LAB.findall(labs or "")))
            out[name][labels].append((float(ts), float(val)))
    for name in out:
        for k in out[name]:
            out[name][k].sort()
    return out


def sample_step(om):
    diffs = []
    for name, d in om.items():
        for k, pts in d.items():
            for i in range(1, min(len(pts), 50)):
                diffs.append(pts[i][0] - pts[i - 1][0])
    diffs.sort()
    med = diffs[len(diffs) // 2]
    return 60 if med < 90 else int(round(med / 60.0)) * 60


# ---------------------------------------------------------------- tiny PromQL
# Supports exactly what the datasets' `signals` use:
#   agg by (service) (EXPR)      agg in sum, max, avg, min
#   rate(SEL[w])                 per-sample rate between consecutive samples
#   SEL = name{k="v",...}        instant selector (last sample in the bucket)
#   EXPR / EXPR, EXPR / NUM, NUM - EXPR, EXPR * NUM  (vector ops match on `service`)
class P:
    def __init__(self, s):
        self.s, self.i = s, 0

    def ws(self):
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def peek(self, t):
        self.ws()
        return self.s.startswith(t, self.i)

    def eat(self, t):
        self.ws()
        assert self.s.startswith(t, self.i), (t, self.s[self.i:])
        self.i += len(t)

    def ident(self):
        self.ws()
        m = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*').match(self.s, self.i)
        self.i = m.end()
        return m.group(0)

    def expr(self):
        left = self.term()
        while True:
            if self.peek("/"):
                self.eat("/"); left = ("bin", "/", left, self.term())
            elif self.peek("-"):
                self.eat("-"); left = ("bin", "-", left, self.term())
            elif self.peek("+"):
                self.eat("+"); left = ("bin", "+", left, self.term())
            elif self.peek("*"):
                self.eat("*"); left = ("bin", "*", left, self.term())
            else:
                return left

    def term(self):
        self.ws()
        m = re.compile(r'\d+(\.\d+)?').match(self.s, self.i)
        if m:
            self.i = m.end()
            return ("num", float(m.group(0)))
        if self.peek("("):
            self.eat("("); e = self.expr(); self.eat(")")
            return e
        name = self.ident()
        if name in ("sum", "max", "avg", "min"):
            self.eat("by"); self.eat("("); by = self.ident(); self.eat(")")
            self.eat("("); e = self.expr(); self.eat(")")
            return ("agg", name, by, e)
        if name == "rate":
            self.eat("("); sel = self.selector(self.ident()); self.eat("[")
            while not self.peek("]"):
                self.i += 1
            self.eat("]"); self.eat(")")
            return ("rate", sel)
        return ("sel", self.selector(name))

    def selector(self, name):
        match = {}
        if self.peek("{"):
            self.eat("{")
            while not self.peek("}"):
                k = self.ident(); self.eat("=")
                self.ws()
                m = re.compile(r'"((?:[^"\\]|\\.)*)"').match(self.s, self.i)
                self.i = m.end()
                match[k] = m.group(1)
                if self.peek(","):
                    self.eat(",")
            self.eat("}")
        return (name, match)


def eval_promql(q, om, step):
    """-> {service: {bucket: value}}  (or a number for a scalar)"""
    ast = P(q).expr()

    def raw(sel):
        name, match = sel
        for labels, pts in om.get(name, {}).items():
            ld = dict(labels)
            if all(ld.get(k) == v for k, v in match.items()):
                yield ld, pts

    def ev(n):
        kind = n[0]
        if kind == "num":
            return n[1]
        if kind == "sel":
            res = []
            for ld, pts in raw(n[1]):
                res.append((ld, {int(t // step): v for t, v in pts}))
            return res
        if kind == "rate":
            res = []
            for ld, pts in raw(n[1]):
                d = {}
                for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
                    if t1 - t0 <= 0 or t1 - t0 > 3.5 * step:
                        continue  # a gap: no rate across it
                    dv = v1 - v0
                    if dv < 0:
                        dv = v1  # counter reset
                    d[int(t1 // step)] = dv / (t1 - t0)
                res.append((ld, d))
            return res
        if kind == "agg":
            _, op, by, e = n
            groups = collections.defaultdict(lambda: collections.defaultdict(list))
            inner = ev(e)
            if isinstance(inner, dict):
                inner = [({by: g}, d) for g, d in inner.items()]
            for ld, d in inner:
                for b, v in d.items():
                    groups[ld.get(by, "")][b].append(v)
            out = {}
            for g, bd in groups.items():
                f = {"sum": sum, "max": max, "min": min,
                     "avg": lambda xs: sum(xs) / len(xs)}[op]
                out[g] = {b: f(vs) for b, vs in bd.items()}
            return out  # dict keyed by service
        if kind == "bin":
            _, op, a, b = n
            A, B = ev(a), ev(b)
            f = {"/": lambda x, y: x / y if y != 0 else None,
                 "-": lambda x, y: x - y, "+": lambda x, y: x + y, "*": lambda x, y: x * y}[op]
            if isinstance(A, float) and isinstance(B, float):
                return f(A, B)
            if isinstance(A, float) or isinstance(B, float):
                vec, sc, left = (B, A, False) if isinstance(A, float) else (A, B, True)
                out = {}
                for g, d in vec.items():
                    out[g] = {}
                    for t, v in d.items():
                        r = f(v, sc) if left else f(sc, v)
                        if r is not None:
                            out[g][t] = r
                return out
            out = {}
            for g in A:
                if g in B:
                    out[g] = {}
                    for t, v in A[g].items():
                        if t in B[g]:
                            r = f(v, B[g][t])
                            if r is not None:
                                out[g][t] = r
            return out
        raise ValueError(n)

    return ev(ast)


# ---------------------------------------------------------------- logs
LEVEL_JSON = re.compile(r'"(?:severity|level)"\s*:\s*"(\w+)"', re.I)
LEVEL_TOK = re.compile(r'\b(TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE|CRITICAL)\b')


def line_level(line):
    m = LEVEL_JSON.search(line)
    if m:
        return m.group(1).upper()
    m = LEVEL_TOK.search(line[:120])
    if m:
        return m.group(1)
    if "Exception" in line or "Traceback" in line:
        return "ERROR"
    return "INFO"


MASK = [(re.compile(r'^\S*\d\d:\d\d:\d\d[.,]?\d*\s*'), ''),        # leading clock
        (re.compile(r'[0-9a-fA-F]{8}-[0-9a-fA-F-]{27,}'), '<uuid>'),
        (re.compile(r'\b[0-9a-fA-F]{16,}\b'), '<hex>'),
        (re.compile(r'\d+(\.\d+)?'), '<n>')]


def template(line):
    """Crude template: the message up to the first '[' data blob or 120 chars, ids masked."""
    m = re.search(r'"(?:message|msg)"\s*:\s*"([^"]*)"', line)
    t = m.group(1) if m else line
    for rx, rep in MASK:
        t = rx.sub(rep, t)
    t = re.sub(r'(TraceID|SpanID): \S+', r'\1', t)
    # Train Ticket lines: "LEVEL logger#line ... [method][message][data...]": keep 2 brackets
    parts = t.split('[')
    t = '['.join(parts[:3])
    return t[:120]


def load_logs(path, step, series):
    lines = collections.defaultdict(lambda: collections.defaultdict(int))
    errs = collections.defaultdict(lambda: collections.defaultdict(int))
    tpls = collections.defaultdict(lambda: collections.defaultdict(lambda: collections.defaultdict(int)))
    err_tpl = set()
    with gzip.open(path, "rt") as f:
        for l in f:
            d = json.loads(l)
            svc = d["labels"].get("app") or d["labels"].get("service")
            b = int(d["ts_ns"] // 1_000_000_000 // step)
            lines[svc][b] += 1
            lv = line_level(d["line"])
            tpl = template(d["line"])
            tpls[svc][tpl][b] += 1
            if lv in ("ERROR", "FATAL", "SEVERE", "CRITICAL", "WARN", "WARNING"):
                err_tpl.add(tpl)
            if lv in ("ERROR", "FATAL", "SEVERE", "CRITICAL", "WARN", "WARNING"):
                errs[svc][b] += 1
    for svc in lines:
        series[(svc, "log", "log_lines")] = dict(lines[svc])
        # template shares: share of the service's lines per minute for each template
        # with at least 20 lines in the dataset (minutes with >= 5 lines only)
        for tpl, d in tpls[svc].items():
            if sum(d.values()) < 20:
                continue
            name = ("tpl_err:" if tpl in err_tpl else "tpl:") + tpl[:80]
            series[(svc, "log", name)] = {b: d.get(b, 0) / n for b, n in lines[svc].items() if n >= 5}
        # an error count is only meaningful in buckets where the service logged at all
        series[(svc, "log", "log_errors")] = {b: errs[svc].get(b, 0) for b in lines[svc]}


# ---------------------------------------------------------------- traces
def q50(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def load_traces(path, step, series, graph):
    spans = {}
    with gzip.open(path, "rt") as f:
        for l in f:
            d = json.loads(l)
            spans[(d["trace_id"], d["span_id"])] = (
                d["parent_span_id"], d["service"], d["start_us"], d["duration_us"], d["error"])
    dur = collections.defaultdict(lambda: collections.defaultdict(list))     # entry spans
    err = collections.defaultdict(lambda: collections.defaultdict(list))
    gap = collections.defaultdict(lambda: collections.defaultdict(list))     # callee -> gaps
    for (tid, sid), (par, svc, st, du, er) in spans.items():
        p = spans.get((tid, par)) if par else None
        if p is not None and p[1] == svc:
            continue  # internal span, not an entry into svc
        b = int(st // 1_000_000 // step)
        dur[svc][b].append(du)
        if er is not None:
            err[svc][b].append(1.0 if er else 0.0)
        if p is not None:
            graph.add((p[1], svc))
            # the caller's client span minus the callee's server span: time on the wire
            gap[svc][b].append(max(0, p[3] - du))
    for svc in dur:
        series[(svc, "trace", "span_p50")] = {b: q50(v) / 1e6 for b, v in dur[svc].items()}
        series[(svc, "trace", "span_count")] = {b: len(v) / step for b, v in dur[svc].items()}
    for svc in err:
        if any(any(v) for v in err[svc].values()):
            series[(svc, "trace", "span_error_ratio")] = {b: sum(v) / len(v) for b, v in err[svc].items()}
    for svc in gap:
        series[(svc, "trace", "net_gap_p50")] = {b: q50(v) / 1e6 for b, v in gap[svc].items()}


# ---------------------------------------------------------------- dataset
def load(ds_id, use_cache=True):
    os.makedirs(CACHE, exist_ok=True)
    cp = os.path.join(CACHE, ds_id + ".pkl")
    if use_cache and os.path.exists(cp):
        with open(cp, "rb") as f:
            return pickle.load(f)
    d = os.path.join(DEV, ds_id)
    meta = json.load(open(os.path.join(d, "dataset.json")))
    om = read_om(os.path.join(d, "metrics.om.gz"))
    step = sample_step(om)
    series = {}
    for sig, q in meta["signals"].items():
        res = eval_promql(q, om, step)
        for svc, dd in res.items():
            if dd:
                series[(svc, "metric", sig)] = dd
    graph = set()
    for e in meta.get("graph", []):
        graph.add((e["from"], e["to"]))
    # logs and traces are bucketed per minute whatever the metric step (Nezha: 60 s)
    if os.path.exists(os.path.join(d, "logs.jsonl.gz")):
        load_logs(os.path.join(d, "logs.jsonl.gz"), step, series)
    if os.path.exists(os.path.join(d, "traces.jsonl.gz")):
        load_traces(os.path.join(d, "traces.jsonl.gz"), step, series, graph)
    graph = {(a, b) for a, b in graph if a != b}
    cases = [json.loads(l) for l in open(os.path.join(d, "cases.jsonl"))]
    truth = {}
    for l in open(os.path.join(d, "truth.jsonl")):
        t = json.loads(l)
        truth[t["id"]] = t
    services = sorted(set(meta["services"]) | {k[0] for k in series})
    out = dict(id=ds_id, system=meta["system"], step=step, services=services,
               series=series, graph=graph, cases=cases, truth=truth,
               signals=list(meta["signals"]))
    with open(cp, "wb") as f:
        pickle.dump(out, f)
    return out


DATASETS = ["nezha-ob-2022-08-22", "nezha-tt-2023-01-29",
            "petshop-high-traffic-train", "petshop-low-traffic-train",
            "petshop-temporal-traffic1-train", "petshop-temporal-traffic2-train"]

if __name__ == "__main__":
    for ds in sys.argv[1:] or DATASETS:
        x = load(ds, use_cache=False)
        kinds = collections.Counter(k[1:] for k in x["series"])
        print(ds, "step", x["step"], "services", len(x["services"]), "series", len(x["series"]),
              "edges", len(x["graph"]))
        print("  ", dict(kinds))
