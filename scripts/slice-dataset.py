#!/usr/bin/env python3
"""Cut one case out of an incident dataset (shared/eval/FORMAT.md) into a small dataset.

Keeps metrics from `history` minutes before the case's start (the baseline an analyzer
compares against) to the case's end, and logs and traces over the same window; the
case and its truth; dataset.json with the new range; SOURCE.md with the original's
provenance and licence plus a note of the cut. Used to make the demo's incident:

    scripts/slice-dataset.py ../shared/eval/dev/nezha-tt-2023-01-29 \
        nezha-tt-2023-01-29-1004 functions/aegis/demo/incident --history 45
"""
import argparse
import datetime as dt
import gzip
import json
import os
import re
import shutil


def parse_time(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def iso(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    ap.add_argument("case")
    ap.add_argument("out")
    ap.add_argument("--history", type=int, default=45, help="minutes of metrics before the case")
    args = ap.parse_args()

    cases = [json.loads(l) for l in open(os.path.join(args.dataset, "cases.jsonl")) if l.strip()]
    case = next(c for c in cases if c["id"] == args.case)
    truth = [json.loads(l) for l in open(os.path.join(args.dataset, "truth.jsonl")) if l.strip()]
    answer = next(t for t in truth if t["id"] == args.case)
    meta = json.load(open(os.path.join(args.dataset, "dataset.json")))

    lo = max(parse_time(case["start"]) - args.history * 60, parse_time(meta["start"]))
    hi = parse_time(case["end"]) + 60
    os.makedirs(args.out, exist_ok=True)

    sample = re.compile(r"^(\S+(?:\{.*\})?) (\S+) (\S+)$")
    with gzip.open(os.path.join(args.dataset, "metrics.om.gz"), "rt") as src, gzip.open(
        os.path.join(args.out, "metrics.om.gz"), "wt", compresslevel=9
    ) as dst:
        for line in src:
            if line.startswith("#"):
                if line.startswith("# EOF"):
                    continue
                dst.write(line)
                continue
            m = sample.match(line.rstrip("\n"))
            if m and lo <= float(m.group(3)) <= hi:
                dst.write(line)
        dst.write("# EOF\n")

    # Logs and traces only over the case itself: they are the bulk of the bytes, and an
    # analyzer's baseline for them is the case's own lead-in.
    case_lo = parse_time(case["start"])

    def cut(name, key, scale):
        path = os.path.join(args.dataset, name)
        if not os.path.exists(path):
            return 0
        n = 0
        with gzip.open(path, "rt") as src, gzip.open(os.path.join(args.out, name), "wt", compresslevel=9) as dst:
            for line in src:
                ts = json.loads(line)[key] / scale
                if case_lo <= ts <= hi:
                    dst.write(line)
                    n += 1
        return n

    logs = cut("logs.jsonl.gz", "ts_ns", 1e9)
    spans = cut("traces.jsonl.gz", "start_us", 1e6)

    meta["id"] = args.case
    meta["start"], meta["end"] = iso(lo), iso(hi)
    json.dump(meta, open(os.path.join(args.out, "dataset.json"), "w"), indent=2, ensure_ascii=False)
    with open(os.path.join(args.out, "cases.jsonl"), "w") as f:
        f.write(json.dumps(case, ensure_ascii=False) + "\n")
    with open(os.path.join(args.out, "truth.jsonl"), "w") as f:
        f.write(json.dumps(answer, ensure_ascii=False) + "\n")
    shutil.copy(os.path.join(args.dataset, "SOURCE.md"), os.path.join(args.out, "SOURCE.md"))
    with open(os.path.join(args.out, "SOURCE.md"), "a") as f:
        f.write(
            f"\n## This slice\n\nCut from dataset `{os.path.basename(os.path.normpath(args.dataset))}` by "
            f"`scripts/slice-dataset.py` for case `{args.case}`: {iso(lo)} .. {iso(hi)} "
            f"({args.history} minutes of metrics history before the case; logs and traces from the case's start), "
            f"{logs} log entries, {spans} spans. "
            "The licence above applies to this slice.\n"
        )


if __name__ == "__main__":
    main()
