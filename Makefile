# ghlfs — see README.md.
GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
MNT     ?= mnt
PREFIX  ?= /usr/local
SBINDIR ?= /sbin
# Every package, named so that go never walks into a mount under ./mnt.
PKGS    := ./cmd/... ./fs/... ./cache/... ./remote/... ./integration/...

# staticcheck at a pinned version, built once into $(BIN) by go install
# from the Go module proxy (which checks it against the checksum
# database), in a folder named by its version, so that a new pin builds
# anew. Not a tool dependency in go.mod: staticcheck's own dependencies
# (golang.org/x/tools and others) would join the module graph ghlfs is
# built from, and could move the versions it is built with.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(BIN)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

.PHONY: all build install uninstall test tools vet fmt-check demo bench fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/ghlfs ./cmd/ghlfake

# ghlfs in $(PREFIX)/bin, and mount(8)'s helper for fstab lines of type
# ghlfs: $(SBINDIR)/mount.ghlfs, a link to it.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BIN)/ghlfs $(DESTDIR)$(PREFIX)/bin/ghlfs
	ln -sf $(PREFIX)/bin/ghlfs $(DESTDIR)$(SBINDIR)/mount.ghlfs

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mount.ghlfs $(DESTDIR)$(PREFIX)/bin/ghlfs

# vet, formatting, and every test (unit and real-mount integration) with the
# race detector. Integration tests need FUSE (/dev/fuse; fusermount3 when
# not root); with CI=true they fail rather than skip without it. Most of
# them wait on a fake's pace rather than on the CPU, and each has its own
# fake and mount: those marked parallel run six at a time. The integration
# package, the longest by far, is named first: go test starts packages in
# the order given, and the others then run beside it, not before it.
test: tools vet fmt-check
	$(GO) test -race -count=1 -parallel 6 -timeout 20m ./integration/... $(filter-out ./integration/...,$(PKGS))

# The programs the tests run (integration/tools.txt): say what is missing,
# and the apt-get line that installs it, before anything starts.
tools:
	@./integration/tools.sh

# vet, and vet for macOS (macFUSE), which builds every package there: the
# code that only Linux has stays behind build tags. (The integration tests
# drive Linux's tools and /proc: they are Linux's alone.) Then staticcheck,
# with the checks staticcheck.conf names, for each of the two as well.
vet: $(STATICCHECK)
	$(GO) vet $(PKGS)
	GOOS=darwin $(GO) vet ./cmd/... ./fs/... ./cache/... ./remote/...
	$(STATICCHECK) $(PKGS)
	GOOS=darwin $(STATICCHECK) $(filter-out ./integration/...,$(PKGS))

$(STATICCHECK):
	GOBIN=$(abspath $(dir $@)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

fmt-check:
	@out=$$(gofmt -l cmd fs cache remote integration); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# A built-in demo library served by the fake API on loopback, mounted on
# $(MNT). Ctrl-C unmounts and stops the fake. No account needed.
demo: build
	@BIN=$(BIN) MNT=$(MNT) ./integration/demo.sh

# Benchmarks on a real mount against the fake; prints one table.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./integration/

# Fuzzing: the name escapes and the API parsers, then the differential
# random test of the mount against a local directory, with a random seed
# and more operations (a failure names the seed: FSRAND_SEED=N replays it).
FSRAND_OPS ?= 10000
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzNameRoundTrip -fuzztime 30s ./fs/
	$(GO) test -run '^$$' -fuzz FuzzItemParse -fuzztime 30s ./remote/ghl/
	FSRAND_SEED=random FSRAND_OPS=$(FSRAND_OPS) $(GO) test -count=1 -timeout 90m -run TestFSRand ./integration/

clean:
	rm -rf $(BIN) .demo
