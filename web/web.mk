# Targets of the web UI (owned by web/). Filled in by the web UI work.
.PHONY: web-install web-build web-check web-test
web-install:
web-build:
web-check:
web-test:
