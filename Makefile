# Two commands do all the set-up on a fresh clone:
#   make run    creates .venv if missing, installs, trains LeNet on Fashion-MNIST
#   make test   same set-up, then ruff, the unit tests and every notebook (strict nbval, quick mode)
# GPU machines: make run GPU=1  (installs requirements-gpu.txt: mxnet-cu112 and the CUDA 11 wheels;
#               the machine needs only the NVIDIA driver)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

# MXNet 1.9.1 needs numpy below 1.24, whose wheels stop at Python 3.11 (3.9: the build backend);
# on 3.12 pip would try to compile numpy and fail far down. Checked before .venv is created.
SUPPORTED_PYTHONS := 3.9 3.10 3.11
ifeq ($(wildcard $(BIN)/python),)
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),install)),)
PYTHON_VERSION := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
ifeq ($(filter $(SUPPORTED_PYTHONS),$(PYTHON_VERSION)),)
$(error $(if $(PYTHON_VERSION),$(PYTHON) is Python $(PYTHON_VERSION),$(if $(PYTHON),$(PYTHON) does not run,no python3 found)); gluoncnn needs Python 3.9 to 3.11 (MXNet 1.9.1 needs numpy 1.23.5, which has no wheels for 3.12 and newer): install python3.11 with its venv module, or run make PYTHON=/path/to/python3.11)
endif
endif
endif
REQUIREMENTS := $(if $(GPU),requirements-gpu.txt,requirements.txt)
RUN_DIR ?= runs/lenet-fashion-mnist
LINTED := gluoncnn tests benchmarks scripts

# The course's real datasets live in ../shared/data when this is the project checkout.
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/fashion-mnist),)
export GLUONCNN_DATA ?= $(SHARED_DATA)
endif
export PYTHONHASHSEED := 0

.PHONY: install run test lint test-unit test-notebooks chapters tables benchmark check-gpu lab clean
install: $(VENV)/.installed

# The pins include the build backend (setuptools), so the editable install builds offline.
$(VENV)/.installed: requirements.txt requirements-gpu.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(REQUIREMENTS)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: install
	$(BIN)/gluoncnn train --model lenet --dataset fashion-mnist --epochs 10 \
	    --batch-size 64 --optimizer adam --lr 0.003 --seed 0 --out $(RUN_DIR)

# Lint, then the unit tests, then the notebooks as a reader checks them, in quick mode: strict
# nbval runs every cell and compares the saved output of every cell not marked
# NBVAL_IGNORE_OUTPUT (after notebooks/sanitize.cfg's substitutions).
test: lint test-unit test-notebooks

lint: install
	$(BIN)/ruff check $(LINTED)

test-unit: install
	GLUONCNN_QUICK=1 $(BIN)/python -m pytest -q tests --durations=15

test-notebooks: install
	GLUONCNN_QUICK=1 $(BIN)/python -m pytest -q --nbval notebooks \
	    --nbval-sanitize-with notebooks/sanitize.cfg --durations=5

# Re-executes every chapter of a preset (cpu unless PRESET=...) and saves it in place,
# printing each chapter's time.
chapters: install
	$(BIN)/python -m gluoncnn.course run --preset $(or $(PRESET),cpu) --notebooks notebooks

# The README's tables of the recorded chapter runs (cpu preset) and full-mode runs, rewritten
# from notebooks/results/ and benchmarks/results/full_mode.json.
tables: install
	$(BIN)/python scripts/course_tables.py --preset cpu --readme
	$(BIN)/python scripts/course_tables.py --full-mode --readme

benchmark: install
	$(BIN)/python benchmarks/run.py

# The GPU install checked as far as a machine without a GPU can (not part of `make test`: it
# installs requirements-gpu.txt, about 4.5 GB, into a venv of its own under $TMPDIR).
check-gpu:
	$(PYTHON) scripts/check_gpu_install.py $(CHECK_GPU_ARGS)

# JupyterLab refuses to run as root (containers often are root) unless told to.
lab: install
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean:
	rm -rf $(VENV) runs build dist *.egg-info
