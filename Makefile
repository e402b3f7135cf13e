# voc-pipeline: `make run` (demo end to end), `make test` (the suite), `make install`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
VOC := $(VENV)/bin/voc
DATA_DIR ?= ../shared/data
DEMO_OUT ?= reports/demo
# What each job installs. `make run` (score and rank the demo) needs the package alone. The test suite also
# exercises the extras (the transformer backend and topic embeddings need torch, pinned to the CPU build; ray
# for the Ray engine test, which starts a local Ray instance); `make install`, lint, train, evaluate and bench
# install the same.
RUN_EXTRAS ?=
EXTRAS ?= test,transformer,topics-embed,plots,ray
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck train evaluate bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstalls when pyproject.toml changes; idempotent otherwise. No wheel cache: it doubles the disk the install needs
# (torch alone is ~200 MB) and CI machines can be short of disk. A failed install is retried once without --quiet, so
# that a transient OSError passes and a real one is printed in full. Its temporary files go beside the venv, not
# to /tmp, which may be a small tmpfs.
PIP_TMP := $(abspath $(VENV))/.pip-tmp
define pip_install
	@mkdir -p $(PIP_TMP)
	TMPDIR=$(PIP_TMP) $(PY) -m pip install --quiet --no-cache-dir --upgrade pip
	TMPDIR=$(PIP_TMP) $(PY) -m pip install --quiet --no-cache-dir -e '.$(1)' \
	  || TMPDIR=$(PIP_TMP) $(PY) -m pip install --no-cache-dir -e '.$(1)'
	@rm -rf $(PIP_TMP)
endef

$(RUN_STAMP): pyproject.toml | $(PY)
	$(call pip_install,$(if $(RUN_EXTRAS),[$(RUN_EXTRAS)]))
	@touch $(RUN_STAMP)

# The full install holds everything `make run` needs too.
$(STAMP): pyproject.toml | $(PY)
	$(call pip_install,[$(EXTRAS)])
	@touch $(STAMP) $(RUN_STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(VOC) score --input data/demo/posts.jsonl --output $(DEMO_OUT)/scored.jsonl --taxonomy configs/taxonomy/demo.yaml
	$(VOC) rank --input $(DEMO_OUT)/scored.jsonl --output $(DEMO_OUT) --taxonomy configs/taxonomy/demo.yaml --by brand

test: install
	$(PY) -m pytest -q

# Layering: imports flow one way (cli > training > scoring | ranking > topics > models > data > text > base), no circles.
lint: install
	$(VENV)/bin/ruff check pipeline tests scripts
	$(VENV)/bin/ruff format --check pipeline tests scripts
	$(PY) scripts/checks/check_layers.py
	$(VENV)/bin/mypy

train: install
	$(VOC) train --config configs/default.yaml --output models/default --data-dir $(DATA_DIR)

evaluate: install
	$(VOC) evaluate --dataset semeval-2017-test --data-dir $(DATA_DIR) --output reports/evaluate/semeval-2017-test

# Backend comparison (docs/models.md): intent 5-fold CV + held-out sentiment + throughput of the linear default.
# The transformer rows: pip install -e '.[transformer]', train configs/transformer.yaml, add its --config/--bundle.
bench: install
	$(PY) scripts/bench/bench_models.py --config linear=configs/default.yaml --bundle linear=models/default \
		--data-dir $(DATA_DIR) --out runs/bench.json

clean:
	rm -rf reports .pytest_cache .mypy_cache .ruff_cache
