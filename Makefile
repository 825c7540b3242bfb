# pyftorch front door.  `make demo` and `make test` set up everything they need on a
# fresh Debian 12 machine: system toolchain (apt), a .venv with the pinned torch, and the
# CMake build of fsrc/ installed into build/install.

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
VPY        := $(VENV)/bin/python
BUILD      := build
PREFIX     := $(abspath $(BUILD)/install)
JOBS       ?= $(shell nproc)
PYTEST_ARGS ?=

.PHONY: all toolchain venv build install test demo bench lint clean distclean docs test-install wheel lint-toolchain

all: build

# --- system toolchain --------------------------------------------------------------------
# Required: the compilers and build tools.  Optional: flang-19, the second compiler of the
# leak tests (unlike gfortran 12 it finalises function results), and valgrind; the tests
# that need them skip, naming the reason, when they cannot be installed.
REQUIRED := gfortran:gfortran g++:g++ cmake:cmake ninja:ninja-build
OPTIONAL := valgrind:valgrind flang-new-19:flang-19
# Distributed training: OpenMPI runs the MPI tests and builds libftorch_mpi; gloo's headers
# (no command to probe: checked by file) let libftorch compile ProcessGroupGloo support.
OPTIONAL += mpirun:openmpi-bin mpif90:libopenmpi-dev
GLOO_HEADER := /usr/include/gloo/algorithm.h
toolchain: $(BUILD)/.toolchain
$(BUILD)/.toolchain:
	@SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	missing() { for p in "$$@"; do command -v $${p%%:*} >/dev/null 2>&1 || printf ' %s' $${p##*:}; done; }; \
	need="$$(missing $(REQUIRED))"; want="$$(missing $(OPTIONAL))"; \
	[ -f $(GLOO_HEADER) ] || want="$$want libgloo-dev"; \
	if [ -n "$$need$$want" ]; then $$SUDO apt-get update -qq || true; fi; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null || exit 1; \
	fi; \
	for pkg in $$want; do \
	  echo "installing $$pkg (optional)"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkg >/dev/null \
	    || echo "warning: $$pkg could not be installed; the tests that need it will skip"; \
	done
	@mkdir -p $(BUILD) && touch $@

# --- Python environment --------------------------------------------------------------------
venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements-dev.txt setup.cfg pyproject.toml VERSION
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -r requirements-dev.txt 2> >(grep -v 'is ignored: it is neither' >&2)
	$(VPY) -m pip install -q --no-deps --no-build-isolation -e . 2> >(grep -v 'is ignored: it is neither' >&2)
	touch $@

# --- native library --------------------------------------------------------------------------
build: $(BUILD)/.toolchain $(VENV)/.stamp
	@prefix=$$($(VPY) -c 'import torch; print(torch.utils.cmake_prefix_path)'); \
	test -f $(BUILD)/build.ninja || cmake -S fsrc -B $(BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$$prefix" \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DPython_EXECUTABLE=$(abspath $(VPY))
	cmake --build $(BUILD) -j $(JOBS)
	cmake --install $(BUILD) >/dev/null

install: build

# --- the two front-door commands -------------------------------------------------------------
test: build
	$(VPY) -m pytest -q --benchmark-disable $(PYTEST_ARGS)

demo: build
	$(VPY) -m pyftorch demo

bench: build
	$(VPY) -m pyftorch bench --json $(BUILD)/bench.json --plot $(BUILD)/bench.png
	$(VPY) -m bench.distributed --json $(BUILD)/bench-distributed.json

# --- lint gates: our own code (configurations: pyproject.toml [tool.ruff], fortitude.toml,
# .clang-format; the same hooks for contributors in .pre-commit-config.yaml) ----------------
LINT_TOOLS := clang-format:clang-format shellcheck:shellcheck
LINT_CXX   := $(wildcard fsrc/src/*.cpp fsrc/src/*.h bench/kernels/*.cpp bench/kernels/*.c pyftorch/*.c)
LINT_SH    := .ci/run $(wildcard bench/*.sh tools/*.sh)
lint-toolchain: $(BUILD)/.lint-toolchain
$(BUILD)/.lint-toolchain:
	@SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	need=""; for p in $(LINT_TOOLS); do command -v $${p%%:*} >/dev/null 2>&1 || need="$$need $${p##*:}"; done; \
	if [ -n "$$need" ]; then echo "installing:$$need"; $$SUDO apt-get update -qq || true; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null || exit 1; fi
	@mkdir -p $(BUILD) && touch $@

lint: $(VENV)/.stamp $(BUILD)/.lint-toolchain
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@mkdir -p $(BUILD)/lint/fortran
	@for f in fsrc/fortran/*.fypp; do $(VENV)/bin/fypp $$f $(BUILD)/lint/fortran/$$(basename $$f .fypp).f90 || exit 1; done
	$(VENV)/bin/fortitude check fsrc/fortran examples bench/kernels $(BUILD)/lint/fortran/*.f90
	clang-format --dry-run --Werror $(LINT_CXX)
	shellcheck $(LINT_SH)
	$(VENV)/bin/pyftorch lint examples

# --- documentation: one HTML site in build/docs (docs/build.py says how) ---------------------
docs: build
	$(VPY) docs/build.py --out $(BUILD)/docs

# --- the package as users get it: a wheel with libftorch inside, installed into fresh venvs ---
wheel: $(VENV)/.stamp
	rm -rf $(BUILD)/wheel && $(VPY) -m pip wheel -q --no-deps -w $(BUILD)/wheel . \
	  2> >(grep -v 'is ignored: it is neither' >&2)

test-install: wheel
	PYFTORCH_WHEEL_DIR=$(abspath $(BUILD)/wheel) $(VPY) -m pytest -q tests/install
	@cat $(BUILD)/test-install/timings.json

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV)

# --- sanitizer build (issue 9) -------------------------------------------------------------
# libftorch (C++ and Fortran) built with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-sanitize/, then the native, Python and reliability tests run against it (found through
# PYFTORCH_PREFIX, like any other install).  LibTorch and Python are not instrumented, so the
# ASan runtime is preloaded into every process of the run.  Leak detection is off: CPython
# and LibTorch keep process-lifetime allocations by design, and the library's own leaks are
# what the live-handle checks of every test catch.  Any ASan/UBSan report fails the run
# (halt_on_error); reports go to build-sanitize/reports/ (pytest captures stderr) and are
# printed at the end.  Deselected: the valgrind tests (valgrind cannot run ASan programs) and
# the tests that assert resident memory stays flat (ASan keeps freed memory in quarantine,
# hundreds of MB; their live-handle checks run in `make test`).
# Not part of `make test` or CI (it takes several times as long).
SANITIZE_DESELECT := not valgrind and not memory_flat and not leak_nothing and not no_leak_with
SANITIZE_BUILD  := build-sanitize
SANITIZE_PREFIX := $(abspath $(SANITIZE_BUILD)/install)
SANITIZE_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g
SANITIZE_TESTS  ?= tests/native tests/python tests/reliability
.PHONY: sanitize
sanitize: $(BUILD)/.toolchain $(VENV)/.stamp
	@prefix=$$($(VPY) -c 'import torch; print(torch.utils.cmake_prefix_path)'); \
	test -f $(SANITIZE_BUILD)/build.ninja || cmake -S fsrc -B $(SANITIZE_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$$prefix" \
	  -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)" -DCMAKE_Fortran_FLAGS="$(SANITIZE_FLAGS)" \
	  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
	  -DCMAKE_INSTALL_PREFIX=$(SANITIZE_PREFIX) -DPython_EXECUTABLE=$(abspath $(VPY))
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cmake --install $(SANITIZE_BUILD) >/dev/null
	@asan=$$(g++ -print-file-name=libasan.so); ubsan=$$(g++ -print-file-name=libubsan.so); \
	reports=$(abspath $(SANITIZE_BUILD))/reports; rm -rf $$reports; mkdir -p $$reports; \
	start=$$(date +%s); \
	PYFTORCH_PREFIX=$(SANITIZE_PREFIX) LD_PRELOAD="$$asan $$ubsan" \
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:exitcode=86:detect_odr_violation=0:log_path=$$reports/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87:log_path=$$reports/ubsan \
	$(VPY) -m pytest -q -p no:cacheprovider --benchmark-disable -k "$(SANITIZE_DESELECT)" $(SANITIZE_TESTS) $(PYTEST_ARGS); \
	rc=$$?; echo "make sanitize: $$(( $$(date +%s) - start )) s of tests, exit status $$rc"; \
	if ls $$reports/* >/dev/null 2>&1; then cat $$reports/*; echo "make sanitize: sanitizer reports above"; exit 1; fi; \
	exit $$rc
