# hbd — build, test and demo. `make demo` and `make test` are all a newcomer needs.

GO          ?= go
BIN         := bin
HBD         := $(BIN)/hbd
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        := ./...
FUZZTIME    ?= 60s

.PHONY: all build test deps lint fmt-check vet staticcheck unit demo fuzz bench clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(HBD) ./hbd

# test: everything CI checks. Fails on the first failing step. As root it
# first installs what the namespace and interop tests need (iproute2,
# nftables, Debian's heartbeat and keepalived); without root those tests
# skip and say why.
test: deps lint unit

deps:
	@.ci/test-deps.sh

lint: fmt-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

unit: build
	$(GO) test -race -count=1 $(PKGS)

# demo: two hbd nodes on loopback, a web service in a resource group, a
# client watching who answers, kill -9 / restart / graceful stop (README,
# "The demo"). No root needed. KEEP=1 keeps its temporary directory;
# NETNS=1 (root) runs it in network namespaces with a real floating IP.
demo: build
	$(GO) build -trimpath -o $(BIN)/hbd-demo ./hbd/internal/demo
	$(BIN)/hbd-demo run --hbd $(HBD) $(if $(filter 1 yes,$(KEEP)),--keep) $(if $(filter 1 yes,$(NETNS)),--netns)

# fuzz: a minute (FUZZTIME) per fuzz target; seed corpora already run in `make test`.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf $(BIN)
