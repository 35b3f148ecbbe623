# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint docs demo bench chaos clean compat

COUNT ?= 2000
SEED ?= 1
# make bench PAIRS="10 50 100 200": the pairs benchmark's sizes
PAIRS ?= 10 50

$(STAMP): pyproject.toml simulator/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]" -e ./simulator
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check plugin simulator tests benchmarks user_data
	$(MKDOCS)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(PY) -m ruff check plugin simulator tests benchmarks user_data

# The documentation site (mkdocs.yml, docs/) into build/site; --strict: a broken link or anchor,
# or a page left out of the nav, fails the build.
MKDOCS = NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet -d build/site
docs: $(STAMP)
	$(MKDOCS)

# VENUE=binance-spot|bybit|okx runs the demo on that simulated venue (default: Binance USD-M).
VENUE ?=
# BOTS=3: three bots on one simulated account, with and without the account registry.
BOTS ?=
demo: $(STAMP)
	$(if $(BOTS),$(PY) -m ghostsim.several $(if $(VENUE),--venue $(VENUE)),$(PY) -m ghostsim.demo $(if $(VENUE),--venue $(VENUE)))

# VENUES=all draws each schedule's venue from its seed (Binance USD-M, Binance spot, Bybit, OKX).
VENUES ?= binance
# OTHER_BOT=1 draws another bot on the account in some schedules (invariant m).
OTHER_BOT ?=
# ROUND_TWO= (empty) leaves out the simulator's round-two faults (a ninth stream of each seed).
ROUND_TWO ?= 1
chaos: $(STAMP)
	$(PY) -m tests.chaos --count $(COUNT) --seed $(SEED) --guard both --venues $(VENUES) $(if $(OTHER_BOT),--other-bot) $(if $(ROUND_TWO),--round-two)

bench: $(STAMP)
	$(PY) benchmarks/requests_per_loop.py
	$(PY) benchmarks/requests_per_path.py
	$(PY) benchmarks/retry_stall.py
	$(PY) benchmarks/backtest_overhead.py
	$(PY) benchmarks/pairs.py $(PAIRS)

# Every Freqtrade release the declared range admits, each in its own venv under .compat/
# (RELEASES="2026.8 2026.9" picks releases, REF=HEAD tests a commit instead of the work tree).
compat:
	$(PYTHON) compat/run.py $(if $(RELEASES),--releases $(RELEASES)) $(if $(REF),--ref $(REF))

clean:
	rm -rf $(VENV) build *.egg-info plugin/*.egg-info simulator/*.egg-info
