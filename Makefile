# bulwark — two commands on a fresh Debian/Ubuntu machine, as root:
#   make run    install what is missing, build, run the daemon in the foreground
#               (packaging/bulwark-run.yaml: the defaults with protection turned on)
#   make test   same setup, then lint, typecheck and every test (unit + end-to-end)
# Idempotent: system packages are installed only when missing, `npm ci` runs only when
# node_modules is missing or package-lock.json changed, the build only when sources changed.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Runtime needs (libpcap, nftables, iproute2, conntrack), build needs (g++, make) and the
# tools the end-to-end tests drive (prometheus: promtool for the rules/dashboard tests and a real
# server for the Prometheus e2e test; zsh: the completion script's syntax check).
SYSTEM_PACKAGES := libpcap-dev nftables iproute2 conntrack g++ make \
	iputils-ping tcpdump tcpreplay nmap netcat-openbsd socat curl procps \
	nats-server openssl \
	prometheus zsh
# The regex engine: native/pcre2 (an N-API addon, built by node-gyp at `npm ci`) links libpcre2-8.
SYSTEM_PACKAGES += libpcre2-dev
# test/e2e/app-layer-tls-ssh.test.ts: real OpenSSH handshakes for the SSH parser; tshark checks JA3/JA3S
# (installed with DEBIAN_FRONTEND=noninteractive: the "non-root capture" debconf question keeps its default, no).
SYSTEM_PACKAGES += openssh-client openssh-server tshark
# SMB tests: a real Samba server (started by the test with its own config) and smbclient.
SYSTEM_PACKAGES += samba smbclient
# Response e2e (test/e2e/response-ssh.test.ts): a real sshd in a test namespace (own host key,
# config and log under a temp dir), the operator's ssh client, and hydra. Installing
# openssh-server may start the host's ssh.service (Debian's invoke-rc.d; containers with
# policy-rc.d exit 101 do not): harmless, the tests never use the host's sshd or port 22.
# ethtool: test/e2e/response-scan.test.ts turns TX checksum offload off on a test host's veth.
SYSTEM_PACKAGES += hydra ethtool
# test/e2e/http-live.test.ts: the protected host's real HTTP server is Debian python3's http.server.
SYSTEM_PACKAGES += python3
NODE_MAJOR_MIN := 20
STAMP := node_modules/.bulwark-lock.sha256
SOURCES := $(shell find src -name '*.ts' 2>/dev/null) package.json tsconfig.json tsconfig.build.json
# Local-only hosts have Network Threat Protection off by default; `make run` passes a shipped
# local config that turns it on (CONFIG=... to use another file).
CONFIG ?= packaging/bulwark-run.yaml

.PHONY: help deps system-deps node-check run test lint typecheck build clean demo

help:
	@echo 'make run      install missing packages, build, run the daemon in the foreground'
	@echo '              (CONFIG=path/to/bulwark.yaml to use a config file; default: packaging/bulwark-run.yaml,'
	@echo '              the built-in defaults with Network Threat Protection turned on)'
	@echo 'make test     same setup, then npm run lint, npm run typecheck, npm test'
	@echo 'make demo     attacks against a protected test host in network namespaces, with narration'
	@echo 'make build    compile TypeScript to dist/'
	@echo 'make clean    remove dist/ and node_modules/'

system-deps:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing system packages:$$missing (run as root)" >&2; exit 1; fi; \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

node-check:
	@command -v node >/dev/null || { echo 'node is not installed: install Node.js $(NODE_MAJOR_MIN) (https://nodejs.org or the NodeSource packages)' >&2; exit 1; }
	@major=$$(node -p 'process.versions.node.split(".")[0]'); \
	if [ "$$major" -lt $(NODE_MAJOR_MIN) ]; then echo "node $$(node --version) is too old: bulwark needs Node.js >= $(NODE_MAJOR_MIN)" >&2; exit 1; fi

# npm ci only when node_modules is missing or package-lock.json changed since the last install.
$(STAMP): package-lock.json | node-check
	@want=$$(sha256sum package-lock.json | cut -d' ' -f1); \
	if [ -d node_modules ] && [ -f $(STAMP) ] && [ "$$(cat $(STAMP))" = "$$want" ]; then exit 0; fi; \
	npm ci --no-audit --no-fund; \
	echo "$$want" > $(STAMP)

# The PCRE2 addon is rebuilt when its sources change (npm ci builds it only on a lock change).
PCRE2_ADDON := native/pcre2/build/Release/pcre2_binding.node
$(PCRE2_ADDON): native/pcre2/src/pcre2_binding.c native/pcre2/binding.gyp | $(STAMP)
	npm rebuild bulwark-pcre2

deps: system-deps node-check $(STAMP) $(PCRE2_ADDON)

dist/.build-stamp: $(SOURCES) $(STAMP)
	npm run build
	@touch $@

build: deps dist/.build-stamp

run: build
	@if [ "$(CONFIG)" = packaging/bulwark-run.yaml ]; then echo 'make run: using packaging/bulwark-run.yaml, which turns Network Threat Protection on (a host with only local settings has it off by default)'; fi
	@node bin/bulwark.js $(if $(CONFIG),--config $(CONFIG),) config paths
	node bin/bulwark.js run $(if $(CONFIG),--config $(CONFIG),)

# Creates its own test namespaces (198.51.100.0/24, no route out) and deletes them at the end.
demo: build
	node --import tsx scripts/demo.ts

lint: deps
	npm run lint

typecheck: deps
	npm run typecheck

test: build
	npm run lint
	npm run typecheck
	npm test

clean:
	rm -rf dist node_modules
