# wizardsofts.ray: the two commands a user needs, and the pieces they are made of.
#   make sandbox          deploy the seed's cluster onto local server containers
#   make sandbox-destroy  remove those containers, their volumes and network
#   make test             unit tests, lint, and the molecule default scenario
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

.PHONY: help venv host-tools docker-engine images sandbox sandbox-destroy test unit lint molecule build

help:
	@sed -n 's/^#   //p' Makefile

# The virtualenv is rebuilt when requirements.txt changes.
$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# The unit tests build network namespaces with iproute2 and drop packets with iptables.
host-tools:
	@command -v iptables >/dev/null && command -v ip >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables iproute2; }

docker-engine:
	testbed/ensure_docker_engine.sh

# Images are cached by a hash of their inputs: this is quick when nothing changed.
images: docker-engine
	mkdir -p .cache
	testbed/images/build.sh > $(IMAGES_VARS).partial
	mv $(IMAGES_VARS).partial $(IMAGES_VARS)
	cp $(IMAGES_VARS) $(SANDBOX_IMAGES_VARS)
	cp $(IMAGES_VARS) $(MOLECULE_IMAGES_VARS)

sandbox: venv images
	$(BIN)/ansible-playbook -i $(SANDBOX_INVENTORY) testbed/playbooks/create.yml
	$(BIN)/ansible-playbook -i $(SANDBOX_INVENTORY) site.yml

sandbox-destroy: venv
	$(BIN)/ansible-playbook -i $(SANDBOX_INVENTORY) testbed/playbooks/destroy.yml

test: unit lint molecule

unit: venv host-tools
	$(BIN)/pytest tests/unit

lint: venv
	$(BIN)/ansible-lint

molecule: venv images
	$(BIN)/molecule test -s default

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path .cache/dist
