#!/usr/bin/env python3
"""Copy incident datasets (shared/eval/FORMAT.md) with their metrics sampled less
often, to measure how the engine copes with a system recorded every few minutes
instead of every minute (FORMAT.md says such datasets exist).

Per dataset this writes a folder with symbolic links to the original logs, traces,
cases and truth, a `metrics.om.gz` keeping one sample per series every `--every`
seconds, and a `dataset.json` whose signals read rates over a window that still holds
two samples (`[2m]` becomes `[<2 x every>s]`). Then run `aegis eval` on the new
folders.

    scripts/thin-metrics.py /tmp/thin --every 300 \\
        ../shared/eval/dev/nezha-ob-2022-08-22 ../shared/eval/dev/nezha-tt-2023-01-29
"""
import argparse
import gzip
import json
import os
import re

from dataset_links import linked_copy


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="folder to write the thinned datasets into (one sub-folder each)")
    ap.add_argument("datasets", nargs="+", help="dataset folders")
    ap.add_argument("--every", type=int, default=300, help="seconds between kept samples of a series (default 300)")
    args = ap.parse_args()
    if args.every < 60:
        ap.error("--every: at least 60 seconds (the datasets sample every minute)")

    for src in args.datasets:
        src, dst = linked_copy(src, args.out, ("metrics.om.gz", "dataset.json"))

        with open(os.path.join(src, "dataset.json"), encoding="utf-8") as f:
            dataset = json.load(f)
        window = f"[{2 * args.every}s]"
        dataset["signals"] = {
            name: re.sub(r"\[\d+[smh]\]", window, query) for name, query in dataset["signals"].items()
        }
        with open(os.path.join(dst, "dataset.json"), "w", encoding="utf-8") as f:
            json.dump(dataset, f, indent=2)

        # A sample is kept when its series' last kept one is at least `every` seconds
        # old (less 10 s, so a scrape that came a little early still counts).
        last_kept = {}
        kept = total = 0
        with gzip.open(os.path.join(src, "metrics.om.gz"), "rt", encoding="utf-8") as inp, gzip.open(
            os.path.join(dst, "metrics.om.gz"), "wt", encoding="utf-8"
        ) as out:
            for line in inp:
                if line.startswith("#") or not line.strip():
                    out.write(line)
                    continue
                series, _value, ts = line.rsplit(" ", 2)
                t = float(ts)
                total += 1
                if series in last_kept and t - last_kept[series] < args.every - 10:
                    continue
                last_kept[series] = t
                kept += 1
                out.write(line)
        print(f"{dst}: kept {kept} of {total} samples")


if __name__ == "__main__":
    main()
