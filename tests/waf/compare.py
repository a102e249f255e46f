#!/usr/bin/env python3
"""Compare `mamori waf test --records` with the libmodsecurity oracle, record by record.

  compare.py ORACLE.jsonl MAMORI.jsonl [--min-agreement 0.99] [--show N] [--ignore-rules IDS]
             [--only-rules IDS]

A record agrees when the same rule ids fired on both sides (and so the same status).
--ignore-rules leaves out rule ids on both sides (e.g. those Mamori documents as unsupported).
Exit 1 when the agreement is below --min-agreement. Prints the disagreements grouped by the
rule ids that differ, most frequent first.
"""
import argparse
import collections
import json
import sys


def load(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                out[r["id"]] = r
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("oracle")
    ap.add_argument("mamori")
    ap.add_argument("--min-agreement", type=float, default=0.0)
    ap.add_argument("--show", type=int, default=20)
    ap.add_argument("--ignore-rules", default="")
    ap.add_argument("--only-rules", default="", help="compare only these rule ids")
    a = ap.parse_args()
    ignore = {int(x) for x in a.ignore_rules.split(",") if x}
    only = {int(x) for x in a.only_rules.split(",") if x}
    o, m = load(a.oracle), load(a.mamori)
    ids = [i for i in o if i in m]
    if not ids:
        sys.exit("compare: no record in common")
    agree = 0
    diffs = collections.Counter()
    examples = {}
    status_agree = 0
    for i in ids:
        ro = set(o[i]["rules"]) - ignore
        rm = set(m[i]["rules"]) - ignore
        if only:
            ro &= only
            rm &= only
        status_agree += (o[i]["status"] == m[i]["status"])
        if ro == rm:
            agree += 1
            continue
        key = "oracle only: %s | mamori only: %s" % (sorted(ro - rm), sorted(rm - ro))
        diffs[key] += 1
        examples.setdefault(key, i)
    rate = agree / len(ids)
    print("records compared %d: same rule ids %d (%.2f %%), same status %d (%.2f %%)" % (
        len(ids), agree, 100 * rate, status_agree, 100 * status_agree / len(ids)))
    for k, n in diffs.most_common(a.show):
        print("%5d  %s   e.g. %s" % (n, k, examples[k]))
    if rate < a.min_agreement:
        print("compare: agreement %.2f %% is below %.2f %%" % (100 * rate, 100 * a.min_agreement))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
