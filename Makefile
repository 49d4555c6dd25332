# Relais: `make run` sets up what is missing and starts everything; `make test` runs the suite.
SHELL := /bin/bash
PY ?= python3
# Rasa 3.6 needs Python 3.10: the first python3.10 that really runs.
PY310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
NLU_VENV := .venv-nlu
MODEL := nlu/models/relais.tar.gz
export REDIS_URL ?= redis://127.0.0.1:6379/0
export PORT ?= 5000
export RASA_TELEMETRY_ENABLED := false
FLASK := $(VENV)/bin/flask --app bot

.PHONY: run test bench setup nlu-train nlu-venv venv db redis lint clean browser

run: setup db
	@echo ""
	@echo "Relais is starting. Then open:"
	@echo "  http://127.0.0.1:$(PORT)/dev/phone   text the bot as from a phone (dev mode)"
	@echo "  http://127.0.0.1:$(PORT)/healthz     state of Redis, the database and the NLU"
	@echo "The NLU service needs about 30 s to load; until then the keyword fallback answers."
	@echo ""
	$(VENV)/bin/honcho start

test: setup browser
	$(VENV)/bin/pytest

# Latency, throughput, escalation and memory against the NLU floor and a plain Rasa peer;
# its own ports (5300, 5305, 5306), Redis database 14 and var/bench/. BENCH_ARGS=--quick: < 2 min.
bench: setup db
	$(VENV)/bin/python -m tests.bench.run $(BENCH_ARGS)

# Browser tests use Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "the browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

setup: venv nlu-venv $(MODEL) redis

venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements.txt requirements-dev.txt
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

nlu-venv: $(NLU_VENV)/.stamp
$(NLU_VENV)/.stamp: nlu/requirements.txt
	@test -n "$(PY310)" || { echo "Rasa 3.6 needs Python 3.10: install it (e.g. pyenv install 3.10) or set PY310=/path/to/python3.10"; exit 1; }
	test -x $(NLU_VENV)/bin/python || $(PY310) -m venv $(NLU_VENV)
	$(NLU_VENV)/bin/pip install -q --upgrade pip wheel
	$(NLU_VENV)/bin/pip install -q -r nlu/requirements.txt
	touch $@

# Retrained only when the NLU data, config or domain changed since the last training.
nlu-train: nlu-venv $(MODEL)
$(MODEL): $(NLU_VENV)/.stamp nlu/config.yml nlu/domain.yml $(wildcard nlu/data/*.yml)
	$(NLU_VENV)/bin/rasa train nlu --config nlu/config.yml --nlu nlu/data --domain nlu/domain.yml \
		--out nlu/models --fixed-model-name relais
	touch $@

redis: venv
	$(VENV)/bin/python -m bot.devstack redis

db: venv
	$(FLASK) db upgrade

lint: venv
	$(VENV)/bin/ruff check bot worker tests
	$(VENV)/bin/mypy bot worker
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) $(NLU_VENV) nlu/models var
