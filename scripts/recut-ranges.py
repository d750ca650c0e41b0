#!/usr/bin/env python3
"""Re-cut the case ranges of incident datasets (shared/eval/FORMAT.md), to measure how
the engine copes with faults elsewhere in the range than where the datasets put them.

The dev datasets cut every case 10 minutes before the fault and 5 after it, which is
exactly where the engine guesses an incident begins when nothing says (the range's
last third). FORMAT.md promises less: the fault begins at least 5 minutes in. This
writes, per dataset, a folder of symbolic links to the original files and a new
`cases.jsonl` whose ranges are cut differently; `truth.jsonl` (read only by the
scorer) gives each fault's start. Then run `aegis eval` on the new folders.

    scripts/recut-ranges.py /tmp/recut --after 4 \\
        ../shared/eval/dev/nezha-ob-2022-08-22 ../shared/eval/dev/nezha-tt-2023-01-29
    scripts/recut-ranges.py /tmp/mixed --before 6,8,12,15,7,13 --after 3,7,4,6,5 ...

`--before` and `--after` are minutes around the fault start, one value or a list
taken in turn case by case. `--before` starts no earlier than the recording
(dataset.json `start`), and a range never starts less than 5 minutes before its
fault.
"""
import argparse
import datetime as dt
import json
import os

from dataset_links import linked_copy


def parse_time(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def iso(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def minutes(text):
    values = [float(v) for v in text.split(",") if v.strip()]
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: positive minutes, comma-separated")
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="folder to write the re-cut datasets into (one sub-folder each)")
    ap.add_argument("datasets", nargs="+", help="dataset folders")
    ap.add_argument("--before", type=minutes, default=None, help="minutes of range before the fault (default: as cut)")
    ap.add_argument("--after", type=minutes, default=None, help="minutes of range after the fault (default: as cut)")
    args = ap.parse_args()

    for src in args.datasets:
        src, dst = linked_copy(src, args.out, ("cases.jsonl",))
        with open(os.path.join(src, "dataset.json"), encoding="utf-8") as f:
            recorded_from = parse_time(json.load(f)["start"])
        with open(os.path.join(src, "truth.jsonl"), encoding="utf-8") as f:
            fault_start = {t["id"]: parse_time(t["fault_start"]) for t in map(json.loads, f)}
        with open(os.path.join(src, "cases.jsonl"), encoding="utf-8") as f:
            cases = [json.loads(line) for line in f if line.strip()]
        cut = open(os.path.join(dst, "cases.jsonl"), "w", encoding="utf-8")
        for i, case in enumerate(cases):
            fault = fault_start[case["id"]]
            start, end = parse_time(case["start"]), parse_time(case["end"])
            if args.before:
                start = max(fault - 60 * args.before[i % len(args.before)], recorded_from)
            start = min(start, fault - 300)
            if args.after:
                end = fault + 60 * args.after[i % len(args.after)]
            case["start"], case["end"] = iso(start), iso(end)
            cut.write(json.dumps(case, ensure_ascii=False) + "\n")
        cut.close()
        print(f"{dst}: {len(cases)} cases")


if __name__ == "__main__":
    main()
