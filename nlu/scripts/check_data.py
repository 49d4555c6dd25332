#!/usr/bin/env python3
"""Check the Relais NLU training data and the held-out test set.

Checks (exit status 1 when one fails):
  * every intent in data/ and tests/ is declared in domain.yml, and every
    domain intent has training examples;
  * per-intent, per-language minimum counts in data/ and tests/;
  * no duplicate example anywhere in data/ (case-insensitive,
    whitespace-normalised);
  * no test example appears in data/ (the held-out rule).

It also prints held-out lines that are very close to a training line
(token overlap), for a human to review: a test line must not be a
one-word paraphrase of a training line.

Usage: python nlu/scripts/check_data.py [--near 0.75]
Needs PyYAML only (present in the Rasa virtualenv).
"""
import argparse
import collections
import pathlib
import re
import sys

import yaml

NLU_DIR = pathlib.Path(__file__).resolve().parent.parent

MAIN = ["opening_hours", "admin_procedure", "workshop_signup", "talk_to_someone", "urgent"]
MINOR = ["greet", "goodbye", "workshop_cancel", "help", "stop", "out_of_scope"]

TRAIN_MIN = {i: {"fr": 80, "nl": 25, "en": 25} for i in MAIN}
TRAIN_MIN.update({i: {"fr": 30, "nl": 12, "en": 12} for i in MINOR})
TEST_MIN = {i: {"fr": 20, "nl": 6, "en": 6} for i in MAIN}
TEST_MIN_TOTAL = {i: 8 for i in MINOR}


def norm(text):
    return re.sub(r"\s+", " ", text.strip().lower())


def tokens(text):
    return set(re.findall(r"\w+", text.lower()))


def load_examples(folder):
    """Yield (file, intent, lang, text) for every example under folder."""
    for path in sorted(folder.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu", []) or []:
            if "intent" not in block:
                continue
            lang = ((block.get("metadata") or {}).get("lang")) or "?"
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if not line:
                    continue
                if not line.startswith("- "):
                    yield path, block["intent"], lang, None
                    continue
                yield path, block["intent"], lang, line[2:].strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--near", type=float, default=0.75,
                    help="report test lines whose token Jaccard with a training line is >= this")
    args = ap.parse_args()

    errors = []
    domain = yaml.safe_load((NLU_DIR / "domain.yml").read_text(encoding="utf-8"))
    domain_intents = set(domain.get("intents", []))

    train = list(load_examples(NLU_DIR / "data"))
    test = list(load_examples(NLU_DIR / "tests"))

    for name, rows in (("data", train), ("tests", test)):
        for path, intent, lang, text in rows:
            if text is None:
                errors.append(f"{path}: intent {intent}: a line in 'examples' does not start with '- '")
            if intent not in domain_intents:
                errors.append(f"{path}: intent {intent!r} is not in domain.yml")
    train = [r for r in train if r[3] is not None]
    test = [r for r in test if r[3] is not None]

    train_intents = {r[1] for r in train}
    for intent in sorted(domain_intents - train_intents):
        errors.append(f"domain intent {intent!r} has no training example")

    # counts
    def counts(rows):
        c = collections.defaultdict(collections.Counter)
        for _, intent, lang, _ in rows:
            c[intent][lang] += 1
        return c

    tc, hc = counts(train), counts(test)
    langs = ["fr", "nl", "en", "mixed"]
    print(f"{'intent':18} | {'train fr':>8} {'nl':>4} {'en':>4} {'tot':>5} | "
          f"{'test fr':>7} {'nl':>4} {'en':>4} {'mixed':>5} {'tot':>5}")
    for intent in MAIN + MINOR:
        t, h = tc[intent], hc[intent]
        print(f"{intent:18} | {t['fr']:8} {t['nl']:4} {t['en']:4} {sum(t.values()):5} | "
              f"{h['fr']:7} {h['nl']:4} {h['en']:4} {h['mixed']:5} {sum(h.values()):5}")
        for lang, n in TRAIN_MIN[intent].items():
            if t[lang] < n:
                errors.append(f"train {intent}/{lang}: {t[lang]} < {n}")
        if intent in TEST_MIN:
            for lang, n in TEST_MIN[intent].items():
                if h[lang] < n:
                    errors.append(f"test {intent}/{lang}: {h[lang]} < {n}")
        elif sum(h.values()) < TEST_MIN_TOTAL[intent]:
            errors.append(f"test {intent}: {sum(h.values())} < {TEST_MIN_TOTAL[intent]}")
    print(f"{'TOTAL':18} | {'':8} {'':4} {'':4} {len(train):5} | {'':7} {'':4} {'':4} {'':5} {len(test):5}")
    unknown = {r[2] for r in train + test} - set(langs)
    if unknown:
        errors.append(f"unknown lang tags: {sorted(unknown)}")

    # duplicates in training data
    seen = {}
    for path, intent, _, text in train:
        key = norm(text)
        if key in seen:
            errors.append(f"duplicate in data: {text!r} ({intent}, {path.name}) "
                          f"already in ({seen[key][0]}, {seen[key][1]})")
        else:
            seen[key] = (intent, path.name)

    # held-out rule
    seen_test = {}
    for path, intent, _, text in test:
        key = norm(text)
        if key in seen:
            errors.append(f"held-out line found in data: {text!r} (test {intent}, data {seen[key][0]})")
        if key in seen_test:
            errors.append(f"duplicate in tests: {text!r}")
        seen_test[key] = intent

    # near duplicates, for review only
    train_tok = [(tokens(r[3]), r[3]) for r in train]
    near = []
    for _, intent, _, text in test:
        tt = tokens(text)
        if not tt:
            continue
        best = max(((len(tt & tr) / len(tt | tr), s) for tr, s in train_tok if tr), default=(0, ""))
        if best[0] >= args.near:
            near.append((best[0], text, best[1]))
    if near:
        print(f"\nheld-out lines close to a training line (Jaccard >= {args.near}), review them:")
        for score, text, other in sorted(near, reverse=True):
            print(f"  {score:.2f}  test: {text!r}  ~  train: {other!r}")

    if errors:
        print("\nERRORS:")
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK: counts, duplicates and held-out rule")
    return 0


if __name__ == "__main__":
    sys.exit(main())
