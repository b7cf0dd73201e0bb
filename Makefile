# hbd — build, test and demo. `make demo` and `make test` are all a newcomer needs.

GO          ?= go
BIN         := bin
HBD         := $(BIN)/hbd
HBDETCD     := $(BIN)/hbd-etcd
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PKGS        := ./...
FUZZTIME    ?= 60s

.PHONY: all build test deps lint fmt-check tidy-check vet staticcheck unit demo fuzz sim chaos bench bench-plan bench-go bench-net bench-part bench-plan-parts bench-merge bench-flood bench-etcd bench-scale clean

all: build

# build: two static binaries of the one program (README). bin/hbd is
# built with -tags noetcd: it links and initialises nothing of etcd's
# client, gRPC or protobuf, which a node with `backend heartbeat` would
# pay for in memory (docs/benchmarks.md, "The default build without
# etcd"). bin/hbd-etcd is the same program with the etcd backend: hbd
# becomes it (exec, same pid) when ha.cf says `backend etcd`, and
# `go build ./hbd` gives it too (docs/guide-etcd.md, "Two programs").
# CGO_ENABLED=0: nothing in hbd needs the C library; the Go resolver
# reads /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf's hosts line
# (files, dns), os/user reads /etc/passwd and /etc/group. Tests that
# build hbd with -race keep cgo: the race detector needs it.
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -tags noetcd -o $(HBD) ./hbd
	CGO_ENABLED=0 $(GO) build -trimpath -o $(HBDETCD) ./hbd

# test: everything CI checks. Fails on the first failing step. As root it
# first installs what the namespace and interop tests need (iproute2,
# nftables, Debian's heartbeat, keepalived and etcd-server); without root those tests
# skip and say why.
test: deps lint unit

deps:
	@.ci/test-deps.sh

lint: fmt-check tidy-check vet staticcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# tidy-check: go.mod and go.sum say exactly what the code imports (direct
# dependencies not marked indirect, nothing missing, nothing left over).
tidy-check:
	@out=$$($(GO) mod tidy -diff) || { echo "go.mod/go.sum not tidy; run go mod tidy:"; echo "$$out"; exit 1; }

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags noetcd ./hbd/daemon

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

unit: build
	$(GO) test -race -count=1 $(PKGS)
	@# The race detector slows the simulation ~10x, so it runs fewer seeds
	@# above; here it runs its thousands of seeds at full speed.
	$(GO) test -count=1 ./hbd/sim -seeds=3000 -rseeds=2000 -reloadseeds=1000
	@# harc reads /proc: again as a container sees it (a pid namespace of
	@# its own, where a session led from outside is session 0). CI runs
	@# in a container already; elsewhere this needs root.
	@if unshare --pid --fork --mount-proc true 2>/dev/null; then \
		echo "unshare --pid --fork --mount-proc $(GO) test -count=1 ./harc/"; \
		unshare --pid --fork --mount-proc $(GO) test -count=1 ./harc/; \
	else echo "harc in a pid namespace: not run (unshare --pid refused: not root?)"; fi

# demo: two hbd nodes on loopback, a web service in a resource group, a
# client watching who answers, kill -9 / restart / graceful stop (README,
# "The demo"). No root needed. KEEP=1 keeps its temporary directory;
# NETNS=1 (root) runs it in network namespaces with a real floating IP.
demo: build
	$(GO) build -trimpath -o $(BIN)/hbd-demo ./hbd/internal/demo
	$(BIN)/hbd-demo run --hbd $(HBD) $(if $(filter 1 yes,$(KEEP)),--keep) $(if $(filter 1 yes,$(NETNS)),--netns)

# fuzz: a minute (FUZZTIME) per fuzz target; seed corpora already run in
# `make test`. New interesting inputs are minimized for at most 10 s, so
# that minimizing does not eat the whole FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg || exit 1; \
	  done; \
	done

# sim: SEEDS fresh simulation seeds (a plain integer: 1000000, not 1e6),
# shared among every generator of hbd/sim, across all cores; prints the
# range, each generator's rate and the total rate, and for a failing seed
# the command that replays it. FIRST=N runs the range from seed N again.
# `make test` runs 700 fresh seeds (TestFreshSeeds) besides its fixed ones.
SEEDS       ?= 100000
FIRST       ?=

sim:
	$(GO) test -count=1 -timeout 0 -run '^TestFreshSeeds$$' ./hbd/sim -v -freshseeds=$(SEEDS) $(if $(FIRST),-fresh=$(FIRST))

# chaos: hbd/e2e's TestChaos (root, namespaces) for DURATION: a node pair
# with a VIP and a client through random faults (cuts, kill -9, SIGTERM,
# reloads, floods, loss), every promise checked after every step. SEED
# replays a run (empty: a random one, printed first). `make test` runs
# 12 steps of it. Figures: docs/benchmarks.md, "Chaos". Namespace tests
# never overlap: the lock is the one every such test takes.
SEED        ?=
DURATION    ?= 10m

chaos:
	flock /tmp/hbd-netns.lock $(GO) test -count=1 -v -timeout 0 -run '^TestChaos$$' ./hbd/e2e \
	  -args -chaos-duration=$(DURATION) $(if $(SEED),-chaos-seed=$(SEED))

# bench: the Go micro-benchmarks, then the failover benchmark in network
# namespaces (root; it installs heartbeat and keepalived when missing):
# hbd (three rows: scripts, built-in IPaddr2, resource.d IPaddr2),
# Heartbeat 3.0.6 and keepalived in the same run, N runs per cell, IDLE
# of idle cost per daemon and settings, the limit search (each setting of
# a ladder SOAK long at 0 and 10 % loss, both CPUs busy) and the loss
# search (SEARCHSTEP a step). bench-plan prints what bench-net will cost
# before anything runs. Writes docs/benchmarks.md (BENCHOUT) and the
# run's data, docs/benchmarks.json (BENCHJSON; hbd/internal/bench's
# TestDocIsTheData holds the page to it). BENCHFLAGS adds
# hbdbench flags (-h lists them). Last, the flood benchmark (bench-flood,
# below).
N           ?= 3
SOAK        ?= 1m
IDLE        ?= 1m
SEARCHSTEP  ?= 30s
BENCHFLAGS  ?=
BENCHOUT    ?= docs/benchmarks.md
BENCHJSON   ?= docs/benchmarks.json
# BENCHLOCK: bench-net and bench-part take the lab's lock, as every
# namespace test does, for their whole length (a part, up to 1h30m), so
# that nothing else runs in namespaces beside a measurement. Empty when
# the caller already holds it.
BENCHLOCK   ?= flock /tmp/hbd-netns.lock
BENCHNET     = $(BIN)/hbdbench -hbd $(HBD) -n $(N) -soak $(SOAK) -idle $(IDLE) -search-step $(SEARCHSTEP)

bench: bench-plan bench-go bench-net bench-flood

# bench-plan: what bench-net will run and how long it should take.
bench-plan:
	$(GO) build -trimpath -o $(BIN)/hbdbench ./hbd/internal/bench/cmd/hbdbench
	@$(BENCHNET) -plan $(BENCHFLAGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

bench-net: build
	$(GO) build -trimpath -o $(BIN)/hbdbench ./hbd/internal/bench/cmd/hbdbench
	$(BENCHLOCK) $(BENCHNET) -out $(BENCHOUT) -json $(BENCHJSON) $(BENCHFLAGS)

# The full run (N=5 SOAK=10m) takes hours: it can run in parts, at
# different times, then be merged into docs/benchmarks.md (the sequence,
# with each part's estimate on the 2-CPU machine: docs/benchmarks.md,
# "How long the full run takes"):
#   rm -rf $(BIN)/bench-parts
#   sudo make bench-part PART=fastest N=5 SOAK=10m   (one per part)
#   make bench-merge
# At N=5 SOAK=10m the scenario parts take about 30 to 40 minutes each;
# the limits part runs the four limit searches (hbd and keepalived, 0 and
# 10 % loss) and the loss search side by side, each in a lab of its own
# under the same busy loops: from 10 minutes, when every ladder's fastest
# setting holds, to 1h31m, when every setting of the longest ladder runs
# its whole step; bench-plan-parts prints each part's estimate.
# Each part's flags follow the common ones, so they win; BENCHFLAGS comes
# last. The parts are kept in $(BIN)/bench-parts (make clean removes
# them); bench-merge stops when one is missing.
BENCHPARTS          = fastest matched1 matched2 detection limits
BENCHPART_fastest   = -settings fastest -soak 0 -search-step 0
BENCHPART_matched1  = -settings matched -scenarios cut,kill9,stop -soak 0 -search-step 0
BENCHPART_matched2  = -settings matched -scenarios failback,heal,standby,takeover -idle 0 -soak 0 -search-step 0
BENCHPART_detection = -settings detection -scenarios cut -idle 0 -soak 0 -search-step 0
BENCHPART_limits    = -scenarios '' -idle 0

bench-part: build
	@test -n "$(BENCHPART_$(PART))" || { echo "bench-part: PART must be one of: $(BENCHPARTS)"; exit 2; }
	$(GO) build -trimpath -o $(BIN)/hbdbench ./hbd/internal/bench/cmd/hbdbench
	@mkdir -p $(BIN)/bench-parts
	$(BENCHLOCK) $(BENCHNET) $(BENCHPART_$(PART)) -out '' -json $(BIN)/bench-parts/$(PART).json $(BENCHFLAGS)

# bench-plan-parts: bench-plan of each part in turn.
bench-plan-parts:
	$(GO) build -trimpath -o $(BIN)/hbdbench ./hbd/internal/bench/cmd/hbdbench
	@$(foreach p,$(BENCHPARTS),printf '%-19s ' $(p); $(BENCHNET) $(BENCHPART_$(p)) -plan $(BENCHFLAGS) 2>&1 | sed 's/^hbdbench: expected duration //; s/: from now.*//';)

bench-merge:
	@missing=; for p in $(BENCHPARTS); do [ -f $(BIN)/bench-parts/$$p.json ] || missing="$$missing $$p"; done; \
	  [ -z "$$missing" ] || { echo "bench-merge: no part$$missing in $(BIN)/bench-parts (run each with make bench-part PART=…)"; exit 2; }
	$(GO) build -trimpath -o $(BIN)/hbdbench ./hbd/internal/bench/cmd/hbdbench
	$(BIN)/hbdbench merge -out $(BENCHOUT) -json $(BENCHJSON) $(foreach p,$(BENCHPARTS),$(BIN)/bench-parts/$(p).json)

# bench-flood: hbd/e2e's TestFlood as a benchmark (root, namespaces): one
# node's heartbeat port flooded with unsigned datagrams for FLOODFOR from
# FLOODSENDERS sockets in turn; each run prints the rate sent, what the node
# read and rejected, its memory and log growth, and fails on a false
# failover. Figures: docs/benchmarks.md, "Flood". Namespace tests never
# overlap: the lock is the one every such test takes.
FLOODFOR     ?= 15s
FLOODSENDERS ?= 1 2 4

bench-flood:
	@for n in $(FLOODSENDERS); do \
	  out=$$(flock /tmp/hbd-netns.lock $(GO) test -count=1 -v -run '^TestFlood$$' ./hbd/e2e -args -flood.senders=$$n -flood.for=$(FLOODFOR) 2>&1); rc=$$?; \
	  echo "$$out" | grep -E '^(--- |ok|FAIL)|flood_test.go'; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	done

# bench-scale: hbd/e2e's scale tests as a benchmark (root, namespaces):
# SCALERUNS takeovers of 32 groups (an address and a script sleeping
# SCALESLEEP each) by one node, for each sleep; then SCALERUNS deaths of
# the holder in a two-node, a five-node and a fencing five-node cluster,
# in turn. Figures:
# docs/benchmarks.md, "Scale of one takeover".
SCALERUNS  ?= 5
SCALESLEEP ?= 200ms 0s

bench-scale:
	@for s in $(SCALESLEEP); do \
	  out=$$(flock /tmp/hbd-netns.lock $(GO) test -count=1 -v -run '^TestScaleGroups$$' ./hbd/e2e -args -scale.runs=$(SCALERUNS) -scale.sleep=$$s 2>&1); rc=$$?; \
	  echo "$$out" | grep -E '^(--- |ok|FAIL)|scale_test.go'; \
	  [ $$rc -eq 0 ] || exit $$rc; \
	done
	@out=$$(flock /tmp/hbd-netns.lock $(GO) test -count=1 -v -run '^TestScaleNodes$$' ./hbd/e2e -args -scale.runs=$(SCALERUNS) 2>&1); rc=$$?; \
	  echo "$$out" | grep -E '^(--- |ok|FAIL)|scale_test.go'; \
	  exit $$rc

# bench-etcd: the etcd backend at scale (no root, no namespaces): an
# embedded three-member etcd cluster and ETCDSIZES (NODESxGROUPS) node
# processes, lease ETCDTTL; ETCDRUNS kill -9 per size, ETCDREST at rest.
# Each node is the ownership loop with a runner that only reports, or,
# with ETCDHBD=1, `hbd run` with backend etcd and a reporting script per
# group, whose start sleeps ETCDSLEEP (a duration, e.g. 200ms) if set.
# Prints a Markdown table; figures: docs/benchmarks.md, "The etcd backend
# at scale".
ETCDSIZES ?= 3x200,16x200
ETCDTTL   ?= 10s
ETCDRUNS  ?= 3
ETCDREST  ?= 30s
ETCDHBD   ?=
ETCDSLEEP ?=

bench-etcd: $(if $(ETCDHBD),build)
	$(GO) build -trimpath -o $(BIN)/hbdetcdbench ./hbd/internal/etcdbench/cmd/hbdetcdbench
	$(BIN)/hbdetcdbench -sizes $(ETCDSIZES) -ttl $(ETCDTTL) -runs $(ETCDRUNS) -rest $(ETCDREST) $(if $(ETCDHBD),-hbd $(abspath $(HBD)) $(if $(ETCDSLEEP),-start-sleep $(ETCDSLEEP)))

clean:
	rm -rf $(BIN)

# --- install and man pages ----------------------------------------------------
# make install [DESTDIR=/tmp/root] [PREFIX=/usr]: the binaries, hbd's
# legacy names, the service files, the man pages and the sample
# /etc/ha.d. Files under /etc/ha.d and /etc/default/heartbeat are never
# overwritten (an edited config survives a re-install); the binaries, the
# links, the unit, the init script, the logrotate file and the man pages
# are replaced. Links point at the absolute $(SBINDIR)/hbd, as installed.
# hbd-etcd goes beside hbd, where hbd looks for it (its own directory,
# hbd/etcdexec.go): no path is built in, so any PREFIX or DESTDIR works.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
HADIR      := $(SYSCONFDIR)/ha.d
MANPAGES   := $(wildcard docs/man/*.[1-8])
MANOUT     := $(BIN)/man

.PHONY: install man

# install_new MODE SRC DST: install SRC as DST unless DST exists.
install_new = if [ -e "$(3)" ] || [ -L "$(3)" ]; then echo "kept existing $(3)"; else install -m $(1) "$(2)" "$(3)"; fi
# link_new DST: DST -> $(SBINDIR)/hbd unless DST exists.
link_new = if [ -e "$(1)" ] || [ -L "$(1)" ]; then echo "kept existing $(1)"; else ln -s "$(SBINDIR)/hbd" "$(1)"; fi
# The service files name /usr/sbin/hbd; point them at $(SBINDIR)/hbd.
fix_sbin = sed 's|/usr/sbin/hbd|$(SBINDIR)/hbd|g'

install: build man
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/heartbeat \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SYSCONFDIR)/init.d $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	  $(DESTDIR)$(HADIR)/resource.d
	install -m 0755 $(HBD) $(DESTDIR)$(SBINDIR)/hbd
	install -m 0755 $(HBDETCD) $(DESTDIR)$(SBINDIR)/hbd-etcd
	@# Legacy names: cl_status, hb_standby and hb_takeover on PATH, the
	@# latter two also where Heartbeat kept them; harc is an admin command.
	ln -sfn $(SBINDIR)/hbd $(DESTDIR)$(SBINDIR)/harc
	for n in cl_status hb_standby hb_takeover; do ln -sfn $(SBINDIR)/hbd $(DESTDIR)$(BINDIR)/$$n; done
	for n in hb_standby hb_takeover; do ln -sfn $(SBINDIR)/hbd $(DESTDIR)$(DATADIR)/heartbeat/$$n; done
	$(fix_sbin) init/heartbeat.service > $(DESTDIR)$(UNITDIR)/heartbeat.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/heartbeat.service
	$(fix_sbin) init/heartbeat > $(DESTDIR)$(SYSCONFDIR)/init.d/heartbeat
	chmod 0755 $(DESTDIR)$(SYSCONFDIR)/init.d/heartbeat
	install -m 0644 init/logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/heartbeat
	@$(call install_new,0644,init/default,$(DESTDIR)$(SYSCONFDIR)/default/heartbeat)
	for f in $(MANOUT)/*.5.gz; do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man5/; done
	for f in $(MANOUT)/*.8.gz; do install -m 0644 $$f $(DESTDIR)$(MANDIR)/man8/; done
	@# Built-in agents first, so that they win over the sample scripts of
	@# the same name; an existing file of that name is kept. The binary
	@# names the agents it answers to in resource.d (hbd agent --programs).
	@agents=$$($(HBD) agent --programs) && for a in $$agents; do $(call link_new,$(DESTDIR)$(HADIR)/resource.d/$$a); done
	@$(call install_new,0644,etc/ha.d/ha.cf,$(DESTDIR)$(HADIR)/ha.cf)
	@$(call install_new,0644,etc/ha.d/haresources,$(DESTDIR)$(HADIR)/haresources)
	@$(call install_new,0600,etc/ha.d/authkeys,$(DESTDIR)$(HADIR)/authkeys)
	@for f in etc/ha.d/resource.d/*; do $(call install_new,0755,$$f,$(DESTDIR)$(HADIR)/resource.d/$$(basename $$f)); done

# man: check the man page sources with groff and man (every warning is an
# error) and write them gzipped to bin/man/. View one with man -l docs/man/hbd.8.
man:
	@mkdir -p $(MANOUT)
	@for f in $(MANPAGES); do \
	  if command -v groff >/dev/null; then \
	    w=$$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -rCHECKSTYLE=3 -z $$f 2>&1); \
	    if [ -n "$$w" ]; then echo "$$f:"; echo "$$w"; exit 1; fi; \
	  fi; \
	  if command -v man >/dev/null; then \
	    w=$$(MANWIDTH=80 man --warnings -l $$f 2>&1 >/dev/null); \
	    if [ -n "$$w" ]; then echo "$$f (man, 80 columns):"; echo "$$w"; exit 1; fi; \
	  fi; \
	  gzip -9n < $$f > $(MANOUT)/$$(basename $$f).gz || exit 1; \
	done
	@command -v groff >/dev/null || echo "groff is not installed: man pages not checked (apt-get install groff-base)"
	@echo "man pages in $(MANOUT): $(notdir $(MANPAGES))"
