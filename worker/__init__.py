"""RQ jobs of Relais. Start with `rq worker --with-scheduler` (see the Procfile)."""
