"""The layers hold (ARCHITECTURE.md): import-linter's contracts, no import cycle, a pure engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
IO_LIBRARIES = ("flask", "sqlalchemy", "redis", "rq", "requests", "twilio", "werkzeug")


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("bot", "worker", cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back and not _is_package_of(module, imported) and not _is_package_of(imported, module):
                cycles.append(" -> ".join((module, *back)))
    assert cycles == []


def _is_package_of(package: str, module: str) -> bool:
    return module.startswith(package + ".")


def test_the_engine_loads_no_web_or_io_library():
    probe = ("import sys, bot.core.engine, bot.core.answers, bot.core.flows;"
             f"print(','.join(sorted(m for m in {IO_LIBRARIES!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
