# fangfan — set-up, demo and tests. `make demo` and `make test` work on a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := var/demo-county
DEMO_COUNTY ?= 341225
DEMO_HOUSEHOLDS ?= 3000
export FANGFAN_DATA_DIR ?= $(CURDIR)/var
# Debian's chromium, driven by Playwright in tests/browser (Playwright never downloads a browser).
CHROMIUM ?= /usr/bin/chromium

.PHONY: install chromium demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) chromium

# As root with apt (CI, a fresh server) it is installed; otherwise say how.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk; \
	else echo "浏览器测试需要 $(CHROMIUM): sudo apt-get install -y chromium fonts-noto-cjk"; fi

demo: $(STAMP)
	@mkdir -p var
	FANGFAN_DEBUG=1 $(BIN)/fangfan migrate --no-input -v 0
	@if [ ! -f $(DEMO_DIR)/households.csv ]; then \
	  $(BIN)/fangfan generate $(DEMO_DIR) --county $(DEMO_COUNTY) --households $(DEMO_HOUSEHOLDS) --seed 1; fi
	FANGFAN_DEBUG=1 $(BIN)/fangfan import $(DEMO_DIR)
	FANGFAN_DEBUG=1 $(BIN)/fangfan cycle --month $$(date +%Y-%m) --folder $(DEMO_DIR)/departments
	FANGFAN_DEBUG=1 $(BIN)/fangfan demo_users --county $(DEMO_COUNTY)
	FANGFAN_DEBUG=1 $(BIN)/fangfan demo_workload --county $(DEMO_COUNTY)
	FANGFAN_DEBUG=1 $(BIN)/fangfan runserver 127.0.0.1:8000

# The whole suite on SQLite, then on PostgreSQL when FANGFAN_TEST_PG is set
# or a server answers on 127.0.0.1:5432. Without chromium the browser tests are skipped
# (with this message), except in CI (CI=true), where that is a failure.
test: $(STAMP)
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$CI" = true ]; then echo "CI: $(CHROMIUM) is missing (the browser tests must run in CI): run .ci/run or, as root, make chromium" >&2; exit 1; fi; \
	  echo "== $(CHROMIUM) not found: the browser tests (tests/browser) are skipped; make chromium (root) or sudo apt-get install -y chromium fonts-noto-cjk =="; \
	fi
	$(BIN)/lint-imports
	$(BIN)/python -m pytest
	@if [ -n "$$FANGFAN_TEST_PG" ] || $(BIN)/python -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1',5432)))"; then \
	  echo "== PostgreSQL =="; \
	  DATABASE_URL=$${FANGFAN_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test} $(BIN)/python -m pytest -m "not slow"; \
	else echo "PostgreSQL not reachable: skipped the PostgreSQL run"; fi

bench: $(STAMP)
	$(BIN)/python bench/import_bench.py --households 100000
	$(BIN)/python bench/evaluate_bench.py --households 1000000

clean:
	rm -rf $(VENV) var
