#!/usr/bin/env python3
"""Summarise a `rasa test nlu` run on the held-out set.

Reads RESULTS/intent_report.json and RESULTS/intent_errors.json, prints the
macro-F1, per-intent F1 and every misclassified line, and checks that no
held-out figure of speech (tests/test_figures_of_speech.yml) was classified
`urgent`. Exits 1 when macro-F1 < --min-f1 or a figure of speech went urgent.

Usage: python nlu/scripts/report.py RESULTS_DIR [--min-f1 0.90]
"""
import argparse
import json
import pathlib
import re
import sys

import yaml

NLU_DIR = pathlib.Path(__file__).resolve().parent.parent


def norm(text):
    return re.sub(r"\s+", " ", text.strip().lower())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", type=pathlib.Path)
    ap.add_argument("--min-f1", type=float, default=0.90)
    ap.add_argument("--threshold", type=float, default=None,
                    help="FallbackClassifier threshold (default: read from config.yml)")
    args = ap.parse_args()
    threshold = args.threshold
    if threshold is None:
        config = yaml.safe_load((NLU_DIR / "config.yml").read_text())
        threshold = next((c.get("threshold", 0.3) for c in config["pipeline"]
                          if c["name"] == "FallbackClassifier"), 0.0)

    report = json.loads((args.results / "intent_report.json").read_text())
    errors_path = args.results / "intent_errors.json"
    errors = json.loads(errors_path.read_text()) if errors_path.exists() else []

    print(f"{'intent':18} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>4}")
    for name, row in sorted(report.items()):
        if not isinstance(row, dict) or name.endswith("avg"):
            continue
        print(f"{name:18} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1-score']:6.3f} {row['support']:4}")
    macro = report["macro avg"]["f1-score"]
    print(f"{'macro avg':18} {report['macro avg']['precision']:6.3f} "
          f"{report['macro avg']['recall']:6.3f} {macro:6.3f}")
    print(f"accuracy {report.get('accuracy', float('nan')):.3f}")

    print(f"\n{len(errors)} misclassified:")
    for e in errors:
        pred = e["intent_prediction"]
        print(f"  {e['intent']:16} -> {pred['name']:16} {pred['confidence']:.2f}  {e['text']}")

    fos_file = NLU_DIR / "tests" / "test_figures_of_speech.yml"
    fos = set()
    if fos_file.exists():
        for block in yaml.safe_load(fos_file.read_text())["nlu"]:
            for line in block["examples"].splitlines():
                if line.strip().startswith("- "):
                    fos.add(norm(line.strip()[2:]))
    bad = [e for e in errors if norm(e["text"]) in fos and e["intent_prediction"]["name"] == "urgent"]
    print(f"\nfigures of speech classified urgent: {len(bad)} of {len(fos)}")
    for e in bad:
        print(f"  {e['text']}")

    # `rasa test nlu` undoes the FallbackClassifier (it scores DIET's top intent).
    # With --successes we can also show what the bot sees at run time, where a
    # prediction under the threshold becomes nlu_fallback (counted as wrong here).
    successes_path = args.results / "intent_successes.json"
    if successes_path.exists():
        rows = json.loads(successes_path.read_text()) + errors
        below_ok = [r for r in rows if r["intent"] == r["intent_prediction"]["name"]
                    and r["intent_prediction"]["confidence"] < threshold]
        below_err = [r for r in errors if r["intent_prediction"]["confidence"] < threshold]
        targets = sorted({r["intent"] for r in rows})
        f1s = []
        for t in targets:
            def pred(r):
                c = r["intent_prediction"]
                return c["name"] if c["confidence"] >= threshold else "nlu_fallback"
            tp = sum(1 for r in rows if r["intent"] == t and pred(r) == t)
            fp = sum(1 for r in rows if r["intent"] != t and pred(r) == t)
            fn = sum(1 for r in rows if r["intent"] == t and pred(r) != t)
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
        print(f"\nrun time, FallbackClassifier threshold {threshold}: "
              f"{len(below_ok)} correct predictions would become nlu_fallback, "
              f"{len(below_err)} errors would become nlu_fallback; "
              f"macro-F1 counting nlu_fallback as wrong: {sum(f1s) / len(f1s):.3f}")
        for r in below_ok:
            print(f"  lost: {r['intent']:16} {r['intent_prediction']['confidence']:.2f}  {r['text']}")
        confs = sorted(r["intent_prediction"]["confidence"] for r in rows)
        print(f"  confidence quantiles: min {confs[0]:.2f}, 5% {confs[len(confs) // 20]:.2f}, "
              f"median {confs[len(confs) // 2]:.2f}")

    ok = macro >= args.min_f1 and not bad
    print(f"\nmacro-F1 {macro:.3f} (bar {args.min_f1}): {'OK' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
