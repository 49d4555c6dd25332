"""The crisis triage's own cost: `triage.assess` in process, p50/p99 over a few hundred messages.

`.venv/bin/python -m tests.bench.triage` prints the figures (no pytest, no stack); `make bench`
adds them to its table and to var/bench/latest.json under "triage" (target: p50 <= 2 ms).
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import yaml

from bot.core import triage
from tests.bench.run import ROOT, crises, free_texts, summary

TARGET_P50_MS = 2.0
SMS_NOISE = ["", " svp", " !!!", " stp", " pls", " aub", " mdr", " ce soir", " now", " nu"]


def messages(n: int = 600) -> list[str]:
    """n varied messages: held-out intents, crises and calm-but-alarming ones, with SMS noise."""
    heldout = yaml.safe_load((ROOT / "tests" / "data" / "crisis_heldout.yml").read_text(encoding="utf-8"))
    pool = free_texts() + crises() + [str(t) for t in heldout["alarming_but_not_crisis"]]
    rng = random.Random(7)
    out = []
    for _ in range(n):
        text = rng.choice(pool)
        text = text.upper() if rng.random() < 0.1 else text
        out.append(f"{text}{rng.choice(SMS_NOISE)}")
    return out


def measure(n: int = 600) -> dict[str, Any]:
    """assess() per message in ms (warm: as in the running app, the lexicon is loaded and its
    word cache filled by earlier messages; cold: that cache emptied before every message)."""
    started = time.perf_counter()
    lexicon = triage.load_lexicon(ROOT / "flows" / "crisis.yml")
    load_ms = (time.perf_counter() - started) * 1000
    texts = messages(n)
    for text in texts:  # warm-up: imports, the word cache
        triage.assess(text, lexicon, "urgent", 0.97)
    warm, cold = [], []
    for text in texts:
        t0 = time.perf_counter()
        triage.assess(text, lexicon, "urgent", 0.97)
        warm.append((time.perf_counter() - t0) * 1000)
    for text in texts:
        lexicon.corrections.clear()
        t0 = time.perf_counter()
        triage.assess(text, lexicon, "urgent", 0.97)
        cold.append((time.perf_counter() - t0) * 1000)
    w, c = summary(warm), summary(cold)
    for s in (w, c):  # sub-millisecond figures need more than one decimal
        s.update(p50_ms=round(sorted(warm if s is w else cold)[len(texts) // 2], 3))
    return {"n": n, "p50_ms": w["p50_ms"], "p99_ms": w["p99_ms"], "mean_ms": w["mean_ms"],
            "cold_p50_ms": c["p50_ms"], "cold_p99_ms": c["p99_ms"], "load_ms": round(load_ms, 1),
            "target_p50_ms": TARGET_P50_MS}


def main() -> None:
    """Print the triage figures and whether the target is met."""
    res = measure()
    print(json.dumps(res, indent=1))
    print(f"triage p50 <= {TARGET_P50_MS:g} ms: {'MET' if res['p50_ms'] <= TARGET_P50_MS else 'NOT MET'}")


if __name__ == "__main__":
    main()
