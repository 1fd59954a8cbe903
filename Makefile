# Optimization for Deep Learning: the book and optlib.
#
#   make book    build the HTML book (sets up .venv first); prints where it is
#   make test    the whole suite: optlib tests, every notebook (nbval),
#                the -n -W book build, and the browser tests
#   make lab     open JupyterLab on book/ (student/ beside it), MyST and widgets working
#   make student write student versions of the chapters into student/; never
#                overwrites a student's answers (FORCE=1 does)
#   make bench   run every benchmark in benchmarks/
#   make clean   remove the build and caches (keeps .venv)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
BUILD  := _build
HTML   := $(BUILD)/html

# One BLAS thread: on two cores, threaded BLAS on small products only contends.
export OPENBLAS_NUM_THREADS ?= 1

# Every Sphinx warning is an error; nitpicky mode also reports broken references.
JB_FLAGS := -n -W --keep-going

.DEFAULT_GOAL := help
.NOTPARALLEL:
.PHONY: help venv book test test-optlib test-notebooks test-book lab student bench clean

help:
	@echo "make book   build the HTML book into $(HTML)/"
	@echo "make test   run optlib's tests, every notebook, the -n -W build and the browser tests"
	@echo "make lab    open JupyterLab on book/ (student/ beside it), MyST rendered"
	@echo "make student  write student versions of every chapter into student/ (FORCE=1 overwrites)"
	@echo "make bench  run the benchmarks"
	@echo "make clean  remove $(BUILD)/ and caches"

venv: $(STAMP)

# Re-install whenever the pinned requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet -e .
	touch $@

# OPTLIB_STATIC=1: live explorers show a snapshot and a note instead of
# controls that no kernel would answer (see optlib.widgets).
book: venv
	env -u MPLBACKEND OPTLIB_STATIC=1 $(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "The book is at $(abspath $(HTML))/index.html"

# The stages run in this order and stop at the first failure.
test: venv test-optlib test-notebooks test-book

test-optlib: venv
	MPLBACKEND=Agg $(PY) -m pytest tests -m "not book"

# Execute every chapter top to bottom (with the kernel's inline backend, as in
# Jupyter); any cell that raises fails the suite.
test-notebooks: venv
	env -u MPLBACKEND $(PY) -m pytest --nbval-lax --nbval-cell-timeout=120 -p no:cacheprovider book

# The -n -W build, then the browser over every built page.
test-book: venv
	MPLBACKEND=Agg $(PY) -m pytest tests -m book

# JupyterLab over the repository root, so that book/ and student/ are both in reach (it
# opens on book/), with the MyST renderer (jupyterlab-myst, in requirements.txt).
# allow_root: containers and devcontainers run as root. The settings in
# .jupyter/lab-settings/overrides.json turn off the news prompt and the update check
# (both would ask the network); the news feed is off on the server too.
LAB_FLAGS := --ServerApp.root_dir=$(CURDIR) --ServerApp.allow_root=True \
	--LabApp.default_url=/lab/tree/book \
	--LabApp.app_settings_dir=$(CURDIR)/.jupyter/lab-settings --LabApp.news_url=None

lab: venv
	env -u MPLBACKEND $(BIN)/jupyter lab $(LAB_FLAGS)

# Student versions of every chapter in student/: solutions stubbed, {solution} blocks
# removed, Markdown that any Jupyter front-end renders. A student notebook that differs
# from what would be written (answers in it) stops the run; FORCE=1 overwrites it.
student: venv
	$(PY) -m optlib.assign book student $(if $(FORCE),--force)
	@echo "The student notebooks are in $(abspath student)/; open them with make lab."

bench: venv
	@set -e; for script in benchmarks/*.py; do \
	  test -e "$$script" || { echo "no benchmarks in benchmarks/"; break; }; \
	  echo "== $$script"; MPLBACKEND=Agg $(PY) "$$script"; \
	done

clean:
	rm -rf $(BUILD) .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
	find book -name .ipynb_checkpoints -prune -exec rm -rf {} +
