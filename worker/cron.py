"""Recurring jobs, run by `rq cron worker/cron.py` (see the Procfile)."""

from __future__ import annotations

from rq import cron

from worker.escalation import sweep

cron.register(sweep, queue_name="default", interval=30)
