# Optimization for Deep Learning: the book and optlib.
#
#   make book    build the HTML book (sets up .venv first); prints where it is
#   make test    the whole suite: optlib tests, every notebook (nbval),
#                the -n -W book build, and the browser tests; then each stage's time
#   make test-blas OPENBLAS_CORETYPE=Prescott [NOTEBOOKS=1]
#                optlib tests (and notebooks) again under another BLAS kernel (CI: the tests)
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
# The tests and notebooks run one process per core, so each keeps to one OpenMP
# (torch) thread: more only spin against each other (measured: the torch tests under
# two workers take 76 s of CPU with two threads each, 34 s with one).
test-optlib test-notebooks test-book test-blas: export OMP_NUM_THREADS ?= 1

# pytest-xdist workers for the optlib tests and the notebooks: one per core.
JOBS ?= auto
# Where the book build keeps executed notebooks (execute.cache in _config.yml).
NB_CACHE := $(BUILD)/.jupyter_cache
# Each stage of `make test` appends its times here; `make test` prints them at the end.
TIMES := $(BUILD)/test-times.txt

# $(call timed,STAGE,COMMAND): run COMMAND and append to $(TIMES) its wall-clock time and
# the CPU time of the processes it waited for (pytest, its workers, the kernels; not
# Chromium's renderers, which its own processes reap).
SHELL := bash
timed = echo '$(2)'; mkdir -p $(BUILD); \
	TIMEFORMAT='$(1)	%1R s wall	%1U s user + %1S s sys'; { time $(2) 2>&3; } 3>&2 2>>$(TIMES)

# Every Sphinx warning is an error; nitpicky mode also reports broken references.
JB_FLAGS := -n -W --keep-going

.DEFAULT_GOAL := help
.NOTPARALLEL:
.PHONY: help venv book test test-optlib test-notebooks test-book test-blas lab student bench clean

help:
	@echo "make book   build the HTML book into $(HTML)/"
	@echo "make test   run optlib's tests, every notebook, the -n -W build and the browser tests"
	@echo "make test-blas OPENBLAS_CORETYPE=Prescott [NOTEBOOKS=1]  optlib's tests (and the notebooks) under another BLAS kernel"
	@echo "make lab    open JupyterLab on book/ (student/ beside it), MyST rendered"
	@echo "make student  write student versions of every chapter into student/ (FORCE=1 overwrites)"
	@echo "make bench  run the benchmarks"
	@echo "make clean  remove $(BUILD)/ and caches"

venv: $(STAMP)

# Re-install whenever the pinned requirements or the package metadata change. Every
# package is byte-compiled once here: where PYTHONDONTWRITEBYTECODE is set, nothing else
# would, and each process would compile again what it imports. compileall does it on
# every core, pip one file at a time (measured: 25 s instead of 38 s on two cores). A
# file written for a newer Python (torch ships one) stays source, as pip leaves it.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	$(PY) -m pip install --quiet --no-compile -e .
	$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	touch $@

# OPTLIB_STATIC=1: live explorers show a snapshot and a note instead of
# controls that no kernel would answer (see optlib.widgets).
book: venv
	env -u MPLBACKEND OPTLIB_STATIC=1 $(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "The book is at $(abspath $(HTML))/index.html"

# The stages run in this order and stop at the first failure; the time each took is
# printed at the end, passed or not.
test: venv
	@rm -f $(TIMES); status=0; \
	$(MAKE) --no-print-directory test-optlib test-notebooks test-book || status=$$?; \
	echo "== make test: time per stage"; cat $(TIMES); exit $$status

test-optlib: venv
	@$(call timed,optlib tests,MPLBACKEND=Agg $(PY) -m pytest tests -m "not book" -n $(JOBS))

# Every chapter executed top to bottom by nbval, one notebook per worker in a kernel of
# its own; any cell that raises fails the suite. The notebooks run as the book build
# runs them (OPTLIB_STATIC=1: explorers show their snapshot; the kernel's inline
# backend), and each notebook that passes is stored in the build's jupyter-cache
# (tests/notebook_cache.py), so the build in test-book executes none of them again.
# The explorers' live controls are tested in tests/test_widgets.py, and `make test-blas`
# runs the notebooks with them live.
NBVAL := $(PY) -m pytest --nbval-lax --nbval-cell-timeout=120 -p no:cacheprovider \
	-n $(JOBS) --dist loadfile

test-notebooks: venv
	@$(call timed,notebooks (nbval),env -u MPLBACKEND OPTLIB_STATIC=1 $(NBVAL) \
		-p tests.notebook_cache --book-cache=$(NB_CACHE) book)

# The -n -W build (notebooks from the cache test-notebooks filled), then the browser
# over every built page. The tests that read the built book form one pytest-xdist group
# (tests/conftest.py), on one worker; the other executes the chapters' student versions
# and builds the small books of the other tests meanwhile.
test-book: venv
	@$(call timed,book build + browser,MPLBACKEND=Agg $(PY) -m pytest tests -m book \
		-n $(JOBS) --dist loadgroup)

# The optlib tests once more under the BLAS kernel that OPENBLAS_CORETYPE names
# (Prescott, Nehalem, Sandybridge, Haswell, SkylakeX, Zen): OpenBLAS picks kernels by
# CPU, and each rounds in its own way. NOTEBOOKS=1 runs every notebook as well, with live
# explorers and not cached; CI leaves the notebooks out, which would take it past fifteen
# minutes.
test-blas: venv
	@test -n "$(OPENBLAS_CORETYPE)" || { echo "usage: make test-blas OPENBLAS_CORETYPE=Prescott [NOTEBOOKS=1]"; exit 2; }
	@OPENBLAS_CORETYPE=$(OPENBLAS_CORETYPE) $(PY) -c "import numpy, scipy.linalg; from threadpoolctl import threadpool_info; \
		print('BLAS kernels:', sorted({i['architecture'] for i in threadpool_info()}))"
	OPENBLAS_CORETYPE=$(OPENBLAS_CORETYPE) MPLBACKEND=Agg $(PY) -m pytest tests -m "not book" \
		-n $(JOBS) -p no:cacheprovider
	$(if $(NOTEBOOKS),OPENBLAS_CORETYPE=$(OPENBLAS_CORETYPE) env -u MPLBACKEND -u OPTLIB_STATIC \
		$(NBVAL) book)

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
