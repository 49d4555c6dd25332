"""Prometheus metrics of the message path (per process)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INBOUND = Counter("relais_inbound_messages_total", "Inbound messages answered", ["understood_by"])
NLU_CACHE_HITS = Counter("relais_nlu_cache_hits_total", "Free texts answered from the NLU cache")
NLU_FAILURES = Counter("relais_nlu_failures_total", "NLU calls that fell back to keywords")
NLU_SECONDS = Histogram("relais_nlu_seconds", "Time of a Rasa parse call",
                        buckets=(0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2))
