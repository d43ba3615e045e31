# wizardsofts.ray: the two commands a user needs, and the pieces they are made of (`make help` lists them).
#   make sandbox            deploy the seed's cluster onto local server containers
#   make sandbox-destroy    remove the sandbox's containers, volumes and network
#   make test               everything below marked (test), two parts at a time: what CI runs
#   make bench              benchmarks (not part of make test): deploy, rerun, scale, readiness, throughput
#   make docs               regenerate docs/roles/*.md and the preflight table of docs/preflight.md
#   make unit               (test) unit tests, on the controller alone
#   make lint               (test) ansible-lint production profile, and antsibull-docs on every plugin and role
#   make sanity             (test) ansible-test sanity on the collection as it is built
#   make molecule           (test) molecule test -s default: a whole deployment onto two server containers
#   make preflight-test     (test) every bad input refused before any change, on fresh and running nodes
#   make day2-test          (test) molecule test -s day2: scale out, upgrade, faults, scale in, teardown
#   make gcs-ft-test        (test) molecule test -s gcs_ft: a head restart and reboot with GCS fault tolerance
#   make monitoring-test    (test) promtool on the rendered rules, then a real Prometheus scraping a cluster
#   make awx-test           (test) AWX objects vs awx.awx's specs, the EE context, every job template run
#   make build              the collection tarball, in .cache/dist
#   make venv               the virtualenv .venv, from requirements.txt
#   make images             the test bed's images (cached by a hash of their inputs); starts the engine
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)

SANDBOX_INVENTORY := inventories/sandbox
IMAGES_VARS := .cache/testbed_images.yml
SANDBOX_IMAGES_VARS := $(SANDBOX_INVENTORY)/group_vars/all/testbed_images.yml
MOLECULE_IMAGES_VARS := molecule/default/inventory/group_vars/all/testbed_images.yml

.PHONY: help venv host-tools docker-engine images sandbox sandbox-destroy test unit lint sanity molecule preflight-test build

help:
	@sed -n 's/^#   \(make .*\)/\1/p' Makefile

# The virtualenv is rebuilt when requirements.txt changes.
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# The unit tests build network namespaces with iproute2 and drop packets with iptables; the preflight suite
# builds stand-in packages (docker-ce, netfilter-persistent) with equivs.
host-tools:
	@command -v iptables >/dev/null && command -v ip >/dev/null && command -v equivs-build >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables iproute2 equivs; }

docker-engine:
	testbed/ensure_docker_engine.sh

# Images are cached by a hash of their inputs: this is quick when nothing changed. The partial file is the
# shell's own (its PID), so two suites started at once (make molecule & make preflight-test) do not race on it.
images: docker-engine
	mkdir -p .cache
	partial=$(IMAGES_VARS).$$$$.partial; testbed/images/build.sh > $$partial; mv $$partial $(IMAGES_VARS)
	cp $(IMAGES_VARS) $(SANDBOX_IMAGES_VARS)
	cp $(IMAGES_VARS) $(MOLECULE_IMAGES_VARS)

sandbox: venv images
	$(BIN)/ansible-playbook -i $(SANDBOX_INVENTORY) testbed/playbooks/create.yml
	$(BIN)/ansible-playbook -i $(SANDBOX_INVENTORY) site.yml

sandbox-destroy: venv
	$(BIN)/ansible-playbook -i $(SANDBOX_INVENTORY) testbed/playbooks/destroy.yml

# The parts of `make test` run two at a time (TEST_JOBS=1: one at a time). Each container suite has its own
# network and names; on 2 vCPUs, one suite's waits (Ray nodes joining, Prometheus scraping, AWX jobs)
# leave room for another's work. What every part needs (the venv, the engine, the images) is made first,
# once; the parts then start in the order listed, longest first, each as soon as a slot is free (-o: their
# prerequisites are not looked at again). A part's output is printed when it ends (--output-sync), not
# interleaved with the other's, and ends with how long the part took.
TEST_JOBS ?= 2
TEST_PARTS := day2-test molecule gcs-ft-test preflight-test awx-test monitoring-test unit sanity lint
TEST_PREREQUISITES := venv host-tools docker-engine images day2-images promtool

test: $(TEST_PREREQUISITES)
	$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target $(addprefix -o ,$(TEST_PREREQUISITES)) \
	  $(addprefix timed-,$(TEST_PARTS))

# Each suite ends with its ten slowest tests (the molecule scenarios' verifiers too: `durations` in their
# molecule.yml), so where the time of `make test` goes is in every run's log.
PYTEST_REPORT := --durations=10

timed-%:
	@start=$$(date +%s); \
	if $(MAKE) --no-print-directory $(addprefix -o ,$(TEST_PREREQUISITES)) $*; then \
	  echo "make test: $* passed in $$(( $$(date +%s) - start )) s"; \
	else echo "make test: $* FAILED after $$(( $$(date +%s) - start )) s"; exit 1; fi

unit: venv host-tools
	$(BIN)/pytest $(PYTEST_REPORT) tests/unit

# ansible-lint (production profile, .ansible-lint), then the documentation of every plugin and role entry point
# as antsibull-docs renders it (references such as O(...) and P(...) must point at something that exists).
lint: venv
	$(BIN)/ansible-lint
	cd collections/ansible_collections/wizardsofts/ray && ANSIBLE_COLLECTIONS_PATH=$(abspath collections) \
	  $(abspath $(BIN))/antsibull-docs lint-collection-docs --plugin-docs .

# ansible-test sanity on the collection as it is built (galaxy.yml's build_ignore applies), installed
# under .cache/sanity/ansible_collections/wizardsofts/ray, where ansible-test needs it to be.
# - `git init` gives the copy a .git of its own. Without it, ansible-test walks up to this checkout's
#   .git and lists the copy's files with `git ls-files`; .cache/ is ignored there, so it would find
#   no file at all and every test would pass on nothing.
# - ansible-test bootstraps pip into each test's virtualenv with a get-pip script it downloads from
#   ci-files.testing.ansible.com, unless ~/.ansible/test/cache/get_pip_<pip version>.py exists. CI
#   reaches only PyPI and Debian, so tests/sanity/pip_bootstrap.py is put there: it installs the
#   same pip from the package index with the pip wheel bundled with Python. The file name carries
#   the pip version this ansible-test wants, read from ansible-test itself (an internal function,
#   stable for the ansible-core that requirements.txt pins).
# - Only the machine's Python, 3.11, is tested (--python 3.11): CI's machine has no other.
SANITY_ROOT := .cache/sanity/ansible_collections/wizardsofts/ray

sanity: venv
	rm -rf .cache/sanity
	$(BIN)/ansible-galaxy collection build --output-path .cache/sanity/dist
	ANSIBLE_COLLECTIONS_PATH=$(abspath .cache/sanity) \
	  $(BIN)/ansible-galaxy collection install --offline --no-deps -p .cache/sanity .cache/sanity/dist/*.tar.gz
	git -C $(SANITY_ROOT) init -q
	pip_version=$$($(PY) -c 'import types, ansible_test._internal.python_requirements as r; \
	  print(r.get_venv_packages(types.SimpleNamespace(version="3.11"))["pip"])'); \
	install -D -m 644 tests/sanity/pip_bootstrap.py "$$HOME/.ansible/test/cache/get_pip_$${pip_version//./_}.py"
	cd $(SANITY_ROOT) && $(abspath $(BIN))/ansible-test sanity --python 3.11

# The preflight cases of issue 5 (docs/preflight.md) against local server containers on
# 198.18.88.0/24, created and destroyed by the suite itself.
preflight-test: venv host-tools images
	$(BIN)/pytest $(PYTEST_REPORT) tests/integration/preflight

molecule: venv images
	$(BIN)/molecule test -s default

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path .cache/dist

# ---- AWX, execution environment and docs (issue 9) ------------------------------------------------
# The AWX job runs (tests/integration/awx_runner) launch every job template with ansible-runner the
# way AWX does, on their own test bed: network wizardsofts-ray-awx, 198.18.96.0/24.
.PHONY: docs awx-test awx-unit awx-runner-test

docs: venv
	$(PY) docs/generate_role_docs.py
	$(PY) docs/generate_preflight_table.py

# The AWX objects' unit tests, the ansible-builder test and the docs check are part of `make unit`,
# and awx/ is linted by `make lint`; this adds the syntax check of the AWX playbook.
awx-unit: venv
	$(BIN)/ansible-playbook --syntax-check awx/configure.yml

awx-runner-test: venv images
	$(BIN)/pytest $(PYTEST_REPORT) tests/integration/awx_runner

awx-test: awx-unit awx-runner-test

# ---- Benchmarks (issue 10) ----------------------------------------------------------------------
# Not part of `make test`: it prints figures, it asserts none. BENCH_RUNS=1 for a quick pass (default
# 3, medians); BENCH_WORKERS=1,2,4,6 to choose the scale points. Test bed: network wizardsofts-ray-bench,
# 198.18.98.0/24, containers wizardsofts-ray-bench-*; all removed at the end. docs/benchmarks.md.
.PHONY: bench

bench: venv images
	$(PY) benchmarks/bench.py

# --- Monitoring (issue 8) ---------------------------------------------------------------------------
# promtool comes from Debian's prometheus package, unpacked under .cache: nothing is installed on the
# machine and no Prometheus daemon is started. `make monitoring-test` runs promtool check config,
# check rules and test rules on what the monitoring role renders (tests/monitoring), then the
# molecule scenario in which a real Prometheus scrapes a real cluster (molecule/monitoring).
PROMTOOL := .cache/prometheus/usr/bin/promtool
MONITORING_IMAGES_VARS := molecule/monitoring/inventory/group_vars/all/testbed_images.yml

.PHONY: promtool monitoring-test monitoring-promtool-test monitoring-molecule

$(PROMTOOL):
	rm -rf .cache/prometheus-deb .cache/prometheus
	mkdir -p .cache/prometheus-deb
	cd .cache/prometheus-deb && { apt-get download prometheus 2>/dev/null || \
	  { apt-get update -qq && apt-get download prometheus; }; }
	dpkg-deb -x .cache/prometheus-deb/prometheus_*.deb .cache/prometheus
	rm -rf .cache/prometheus-deb
	$(PROMTOOL) --version

promtool: $(PROMTOOL)

monitoring-test: monitoring-promtool-test monitoring-molecule

monitoring-promtool-test: venv promtool
	PROMTOOL=$(abspath $(PROMTOOL)) $(BIN)/pytest tests/monitoring

monitoring-molecule: venv images
	cp $(IMAGES_VARS) $(MONITORING_IMAGES_VARS)
	$(BIN)/molecule test -s monitoring

# --- Day 2 (issue 7, docs/day2.md) -----------------------------------------------------------------
# `molecule test -s day2`: scale out, rolling upgrade, the example workloads as Ray jobs, configuration
# changes, faults, scale in and teardown, on one cluster (198.18.94.0/24). The upgrade starts from the
# previous Ray release, so its image is built too (cached like the others; about a minute the first time).
DAY2_PREVIOUS_RAY_VERSION := 2.59.0
DAY2_IMAGES_VARS := molecule/day2/inventory/group_vars/all/testbed_images.yml

.PHONY: day2-images day2-test

day2-images: images
	mkdir -p .cache
	partial=.cache/day2_testbed_images.yml.$$$$.partial; \
	  RAY_PREVIOUS_VERSION=$(DAY2_PREVIOUS_RAY_VERSION) testbed/images/build.sh > $$partial; mv $$partial $(DAY2_IMAGES_VARS)

day2-test: venv day2-images
	$(BIN)/molecule test -s day2

# --- GCS fault tolerance (issue 16, docs/day2.md) ---------------------------------------------------------------------
# `molecule test -s gcs_ft`: a head restart without fault tolerance (what is lost), then site.yml turns it on (Redis on
# the worker's server, the ray_redis role), and the head's container restarts and its server reboots while an actor,
# a job and a Ray Serve application run on the worker (198.18.90.0/24).
GCS_FT_IMAGES_VARS := molecule/gcs_ft/inventory/group_vars/all/testbed_images.yml

.PHONY: gcs-ft-test

gcs-ft-test: venv images
	cp $(IMAGES_VARS) $(GCS_FT_IMAGES_VARS)
	$(BIN)/molecule test -s gcs_ft
