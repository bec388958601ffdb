#!/usr/bin/env python3
"""Tables of detection quality for a set of videos with ground truth.

realset_table.py SET_DIR OUT_DIR

SET_DIR holds NAME.truth.json per video (the bench schema; the real-face set
adds "scenario", "amplitude" and "source", the negatives' copies "source" and
"variant"), OUT_DIR the NAME.json that `twitchscope analyze --json` wrote.
Prints one table per scenario, per warp amplitude, per base clip and, for
copies, per kind of copy: videos, true and detected events, recall,
precision, F1, laterality correct, and false spasm events per minute
(detections matching no true event; on negatives, every detection).

Matching follows ../shared/bench/score.py: a detected non-blink event counts
when it overlaps a true event of the same side within 0.3 s.
Standard library only.
"""
import glob
import json
import os
import sys
from collections import OrderedDict

TOL = 0.3  # seconds of slack around a true event, as score.py


def overlaps(d, g):
    return d["start_s"] <= g["end_s"] + TOL and d["end_s"] >= g["start_s"] - TOL


def load(tdir, odir):
    rows = []
    for tf in sorted(glob.glob(os.path.join(tdir, "*.truth.json"))):
        with open(tf) as f:
            truth = json.load(f)
        of = os.path.join(odir, truth["name"] + ".json")
        out = None
        if os.path.exists(of):
            try:
                with open(of) as f:
                    out = json.load(f)
            except ValueError:
                out = None
        rows.append((truth, out))
    return rows


def score(truth, out):
    gt = truth["events"]
    det = [e for e in out.get("events", []) if e.get("kind") != "blink"]
    hit_g = sum(1 for g in gt if any(d.get("side") == g["side"] and overlaps(d, g) for d in det))
    hit_d = sum(1 for d in det if any(d.get("side") == g["side"] and overlaps(d, g) for g in gt))
    lat = (out.get("summary") or {}).get("laterality")
    return {"gt": len(gt), "det": len(det), "hit_g": hit_g, "hit_d": hit_d,
            "lat_ok": lat == truth["expected_laterality"], "minutes": truth["seconds"] / 60.0}


def scenario_of(truth):
    if truth["expected_laterality"] == "none":
        return "negative"
    return truth.get("scenario") or truth["expected_laterality"]


def amplitude_of(truth):
    if truth["expected_laterality"] == "none":
        return "negative"
    a = truth.get("amplitude")
    return "?" if a is None else f"{a:g}"


def source_of(truth):
    return truth.get("source") or truth["name"]


def variant_of(truth):
    return truth.get("variant") or "-"


def table(title, rows, key):
    groups = OrderedDict()
    for truth, out in sorted(rows, key=lambda r: str(key(r[0]))):
        groups.setdefault(key(truth), []).append((truth, out))
    head = (f"{title:24s} {'videos':>6s} {'true':>5s} {'found':>5s} {'recall':>7s} "
            f"{'precis.':>7s} {'F1':>6s} {'lat.ok':>7s} {'false/min':>9s}")
    print(head)
    print("-" * len(head))
    total = None
    for name, members in list(groups.items()) + [("ALL", rows)]:
        scored = [score(t, o) for t, o in members if o is not None]
        missing = sum(1 for _, o in members if o is None)
        gt = sum(r["gt"] for r in scored)
        det = sum(r["det"] for r in scored)
        rec = sum(r["hit_g"] for r in scored) / gt if gt else None
        prec = sum(r["hit_d"] for r in scored) / det if det else None
        f1 = (2 * prec * rec / (prec + rec) if prec is not None and rec is not None and prec + rec
              else None)
        lat = sum(1 for r in scored if r["lat_ok"])
        minutes = sum(r["minutes"] for r in scored)
        false = sum(r["det"] - r["hit_d"] for r in scored)
        fpm = false / minutes if minutes else 0.0

        def pct(v):
            return "-" if v is None else f"{v:.2f}"

        line = (f"{str(name):24s} {len(members):6d} {gt:5d} {det:5d} {pct(rec):>7s} "
                f"{pct(prec):>7s} {pct(f1):>6s} {f'{lat}/{len(members)}':>7s} {fpm:9.1f}")
        if missing:
            line += f"  ({missing} without output)"
        if name == "ALL":
            total = line
        else:
            print(line)
    print("-" * len(head))
    print(total)
    print()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: realset_table.py SET_DIR OUT_DIR")
    rows = load(sys.argv[1], sys.argv[2])
    if not rows:
        sys.exit(f"no *.truth.json in {sys.argv[1]}")
    table("scenario", rows, scenario_of)
    table("amplitude", rows, amplitude_of)
    table("base clip", rows, source_of)
    # Copies of the clips (scripts/negatives.sh): mirrored, re-timed, small...
    if any("variant" in t for t, _ in rows):
        table("copy", rows, variant_of)
    neg = [(t, o) for t, o in rows if t["expected_laterality"] == "none" and o is not None]
    minutes = sum(t["seconds"] for t, _ in neg) / 60.0
    det = sum(score(t, o)["det"] for t, o in neg)
    if minutes:
        print(f"negatives: {len(neg)} videos, {minutes * 60:.0f} s, {det} false spasm events "
              f"= {det / minutes:.1f} per minute")


if __name__ == "__main__":
    main()
