# ghz, a compiled gRPC load generator: `make bench`'s second opinion on the submit path (the
# Python load generator shares the machine's two cores with the stack; ghz costs less per call).
# Built from source with `go install` into .tools/bin; pinned here, the one place.
GHZ_VERSION := v0.120.0

.PHONY: ghz-bin
ghz-bin:
	@tools/go-tool.sh ghz github.com/bojand/ghz/cmd/ghz $(GHZ_VERSION)
