# NextBuy: `make demo` and `make test` work on a fresh machine (they create .venv first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
MOVIELENS ?= ../shared/data/ml-100k

.PHONY: setup chromium demo test lint format serve bench bench-quality bench-speed bench-load fuzz clean \
	docker-smoke

setup: $(STAMP) chromium

# Browser tests drive Debian's Chromium (Playwright cannot download its own here). Quiet, and
# a no-op once /usr/bin/chromium exists; without root or apt the browser tests are skipped.
chromium:
	@test -x /usr/bin/chromium || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    >/dev/null 2>&1 || echo "could not install chromium: browser tests will be skipped"; }

# torch is pinned and installed first: an unpinned torch would pull GBs of CUDA wheels.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,train,spark]"
	touch $(STAMP)

demo: setup
	$(BIN)/nextbuy demo --data data/shop --models models
	$(BIN)/nextbuy train --data data/shop/interactions.csv --items data/shop/items.csv --split user --budget 30s --out models

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src/nextbuy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

serve: setup
	@test -d models/als || { echo "no model in models/als: run 'make demo' first"; exit 2; }
	$(BIN)/nextbuy serve --model-dir models/als --host 127.0.0.1 --port 8000

bench: bench-quality bench-speed bench-load

# schemathesis over the live spec, positive and negative data, SQLite and PostgreSQL
# (127.0.0.1:5432, db test): any 5xx or schema violation fails (a few minutes).
fuzz: setup
	$(BIN)/python benchmarks/fuzz.py --backends sqlite postgresql --max-examples 200 --mode all

bench-quality: setup
	$(BIN)/python -m pip install --quiet -e ".[bench]" || echo "peers extra not installed; quality.py skips missing peers"
	$(BIN)/python benchmarks/quality.py --movielens $(MOVIELENS) --protocol all --peers

bench-speed: setup
	$(BIN)/python benchmarks/speed.py

# load.py drives the server with Debian's wrk and hey (installed here when missing, like chromium).
bench-load: setup
	@command -v wrk >/dev/null && command -v hey >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk hey) >/dev/null 2>&1 || \
	  echo "could not install wrk and hey: apt-get install -y wrk hey"
	$(BIN)/python benchmarks/load.py

# Builds the images and runs the compose deployment end to end (needs a Docker engine; see
# docs/deploy.md). Deliberately not part of `make test` or .ci/run.
docker-smoke:
	bash scripts/docker-smoke.sh

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
