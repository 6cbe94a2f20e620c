# Two commands set up a fresh machine (see README.md):
#   make demo   create .venv, install what the demo needs, run the demo on bundled real data
#   make test   create .venv, install everything the tests need, run pytest
# Installs are remembered by stamp files in .venv, so re-running is fast when
# pyproject.toml has not changed.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
# One line before and one after each (quiet) install step: what, how long, how many packages.
define INSTALL
	@echo "make: installing $(1) into $(VENV) (pip, takes a few minutes the first time) ..."
	@t0=$$(date +%s); $(PIP) install $(2) && echo "make: installed $(1) in $$(( $$(date +%s) - t0 )) s; $$($(BIN)/python -m pip list --disable-pip-version-check 2>/dev/null | tail -n +3 | wc -l) packages in $(VENV)"
endef
TORCH  := torch==2.13.0
DEMO_OUT ?= results/demo
PYTEST_ARGS ?=

.PHONY: demo test lint bench-quick clean-venv help docs

help:
	@echo "make demo   - set up .venv and run the demo on the bundled real recordings"
	@echo "make test   - set up .venv with test dependencies and run the test suite"
	@echo "make lint   - ruff"
	@echo "make docs   - build the documentation site into build/docs/html (offline)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first: the local CPU wheel.  Any later request for torch<2.14 keeps it.
$(VENV)/.stamp-torch: | $(BIN)/python
	$(call INSTALL,$(TORCH) (CPU wheel),"$(TORCH)")
	@touch $@

$(VENV)/.stamp-demo: pyproject.toml $(VENV)/.stamp-torch
	$(call INSTALL,neuroloom with the demo extras [all],-e ".[all]")
	@touch $@

$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-torch
	$(call INSTALL,neuroloom with the test extras [dev],-e ".[dev]")
	@touch $@ $(VENV)/.stamp-demo

demo: $(VENV)/.stamp-demo
	$(BIN)/neuroloom -v pipeline run --cores 2 --results $(DEMO_OUT)

# Headless Chromium for the browser checks of the report and the docs site (Debian's
# package).  Installed when missing and we may (root with apt-get); otherwise those
# tests skip with a reason.  Never fatal: the rest of the suite does not need it.
$(VENV)/.stamp-browser: | $(BIN)/python
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	  echo "make: chromium found ($$(command -v chromium || command -v chromium-browser))"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make: installing chromium (apt-get, for the browser tests) ..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    && echo "make: chromium installed" || echo "make: chromium not installed; browser tests will skip"; \
	else echo "make: no chromium and no root apt-get; browser tests will skip"; fi
	@touch $@

test: $(VENV)/.stamp-test $(VENV)/.stamp-browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check neurodata connectome decoders pipelines tests benchmarks

# Long reliability run (docs/reliability.md): mutation fuzzer over every loader and the
# own format, then SIGKILL trials of every writer.  Fails if anything is not handled.
FUZZ_PER_SEED ?= 40
KILL_TRIALS ?= 100
.PHONY: fuzz
fuzz: $(VENV)/.stamp-test
	$(BIN)/python -m tests.fuzz.fuzzer --per-seed $(FUZZ_PER_SEED); f=$$?; \
	$(BIN)/python -m tests.reliability.killtrial --trials $(KILL_TRIALS); k=$$?; \
	exit $$(( f || k ))

# The documentation site (Sphinx, offline; executes the notebooks): build/docs/html
docs: $(VENV)/.stamp-test
	$(BIN)/sphinx-build -b html -W --keep-going docs build/docs/html
	@echo "docs: $(CURDIR)/build/docs/html/index.html"

bench-quick: $(VENV)/.stamp-test
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

clean-venv:
	rm -rf $(VENV)
