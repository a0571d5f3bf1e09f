# Each target installs what is missing first (scripts/setup.sh is quick when all is there).
PYTHON := .venv/bin/python
PORT ?= 9000
THREADS ?= 1

.PHONY: setup run test lint bench bench-quick clean

setup:
	@bash scripts/setup.sh

run: setup
	$(PYTHON) server_main.py --port $(PORT) --threads $(THREADS)

test: setup
	bash scripts/test.sh

lint: setup
	$(PYTHON) -m ruff check .

bench: setup
	$(PYTHON) benchmarks/pingpong.py --png docs/benchmarks/pingpong.png

bench-quick: setup
	$(PYTHON) benchmarks/pingpong.py --quick

clean:
	rm -rf .venv .pytest_cache
