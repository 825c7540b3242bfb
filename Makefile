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

.PHONY: all toolchain venv build install test demo bench lint clean distclean

all: build

# --- system toolchain --------------------------------------------------------------------
# gfortran is the compiler users have; flang-19 is the second compiler the leak tests use
# because, unlike gfortran 12, it finalises function results.  valgrind runs the memory check.
APT_PKGS := gfortran g++ cmake ninja-build valgrind flang-19
toolchain: $(BUILD)/.toolchain
$(BUILD)/.toolchain:
	@missing=""; \
	for p in gfortran:gfortran g++:g++ cmake:cmake ninja:ninja-build valgrind:valgrind flang-new-19:flang-19; do \
	  command -v $${p%%:*} >/dev/null 2>&1 || missing="$$missing $${p##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p $(BUILD) && touch $@

# --- Python environment --------------------------------------------------------------------
venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements-dev.txt setup.cfg pyproject.toml
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

lint: $(VENV)/.stamp
	$(VENV)/bin/pyftorch lint examples

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV)
