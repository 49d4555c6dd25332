"""`PYTHONPATH=. python -m bot.core.flows [DIR]`: check a flows folder without the app."""

from __future__ import annotations

from bot.core.flows.validate import main

raise SystemExit(main())
