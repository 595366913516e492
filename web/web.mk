# Targets of the web UI (owned by web/). Included by the root Makefile; paths are relative to
# the repository root.
#
#   make web-install   npm ci (only when package-lock.json changed)
#   make web-build     vite build into web/dist (only when sources changed)
#   make web-check     tsc --noEmit + eslint
#   make web-test      vitest run
#   make web-e2e       browser end-to-end test against the real embedded stack (chromium)
#   make web-perf      the Study page with 10,000 synthetic points in chromium: load time, JS heap,
#                      long tasks while points arrive, sort/scroll/chart-switch times
#   make web-dev       vite dev server proxying the API to a gateway on $(SIMLAB_PORT)

.PHONY: web-install web-build web-build-if-node web-check web-test web-e2e web-perf web-dev web-check-generated web-clean web-need-node web-need-chromium

WEB := web
WEB_NODE_MIN := 20
WEB_STAMP := $(WEB)/node_modules/.simlab-installed
WEB_SOURCES := $(shell find $(WEB)/src -type f 2>/dev/null) $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json $(WEB)/package-lock.json
WEB_E2E_OUT ?= test-output/web
CHROMIUM ?= /usr/bin/chromium

web-need-node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  echo "web: node and npm are required (Node $(WEB_NODE_MIN).19+ with npm 10+)."; \
	  echo "     Debian/Ubuntu: install Node 20 from https://nodejs.org or 'apt-get install -y nodejs npm' (if it is 20+)."; \
	  exit 1; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>$(WEB_NODE_MIN)||(a==$(WEB_NODE_MIN)&&b>=19)?0:1)' || { \
	  echo "web: Node $$(node --version) is too old; Node $(WEB_NODE_MIN).19+ is required."; exit 1; }

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json | web-need-node
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

web-install: web-need-node $(WEB_STAMP)

$(WEB)/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd $(WEB) && npx vite build
	@touch $@

web-build: $(WEB)/dist/index.html

web-check: $(WEB_STAMP)
	cd $(WEB) && npx tsc --noEmit -p tsconfig.json
	cd $(WEB) && npx eslint --max-warnings=0 .

web-test: $(WEB_STAMP)
	cd $(WEB) && npx vitest run

web-need-chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "web: installing chromium with apt-get"; \
	    apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }; \
	  else \
	    echo "web: the browser test needs Debian's chromium at $(CHROMIUM)."; \
	    echo "     Install it with: sudo apt-get install -y chromium  (or set CHROMIUM=/path/to/chromium)"; \
	    exit 1; \
	  fi; \
	fi

# Starts the real embedded stack (python -m simlab.devstack) once on a free port with a
# temporary state dir, runs the node:test files in web/e2e against it (each flow in a browser
# context of its own, in headless chromium), saves a screenshot of every page to
# $(WEB_E2E_OUT) and stops the stack. Needs the Python venv (root 'venv' target).
web-e2e: web-build web-need-chromium venv
	cd $(WEB) && CHROMIUM=$(CHROMIUM) node e2e/main.mjs --out "$(abspath $(WEB_E2E_OUT))" --python "$(abspath $(VENV))/bin/python"

web-perf: $(WEB_STAMP) web-need-chromium
	cd $(WEB) && CHROMIUM=$(CHROMIUM) SIMLAB_E2E_OUT="$(abspath $(WEB_E2E_OUT))" node perf/study-page.mjs

web-dev: $(WEB_STAMP)
	cd $(WEB) && SIMLAB_PORT=$(SIMLAB_PORT) npx vite

# The generated TypeScript in web/src/gen is what 'make generate' gives from protos/.
web-check-generated: generate
	@git diff --exit-code --stat -- $(WEB)/src/gen \
	  || { echo "web/src/gen is stale: run 'make generate' and commit the result"; exit 1; }
	@test -z "$$(git status --porcelain -- $(WEB)/src/gen)" \
	  || { echo "web/src/gen has files that are not committed: run 'make generate' and commit them"; exit 1; }

web-clean:
	rm -rf $(WEB)/dist $(WEB)/node_modules

# For `make run`: build the UI when it is stale if Node is here; otherwise say so and go on
# (the gateway then answers / with "The web UI is not built").
web-build-if-node:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory web-build; \
	else \
	  echo "web: node/npm not found, so the web UI is not (re)built; install Node 20.19+ and run 'make web-build'"; \
	fi
