# sipedge build and test entry points. `make test` is what CI runs; it
# installs the tools it needs when they are missing.

GO            ?= go
BIN           := $(CURDIR)/bin
STATICCHECK   := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
# How long each fuzz target runs in `make fuzz` (the seed corpus always
# runs as part of `make test`).
FUZZTIME      ?= 10m
COUNT         ?= 5

.PHONY: all build test deps lint unit bench-check bench bench-turn fuzz clean webphone

all: build

build:
	$(GO) build -o $(BIN)/sipedge ./cmd/sipedge

test: deps lint unit bench-check

# The real peers the tests drive: sipp (Debian package sip-tester),
# coturn's turnutils_uclient (Debian package coturn), and
# for the browser tests in e2e/ Chromium (Debian's, never a downloaded
# one), ip (iproute2), openssl and e2e/node_modules from
# e2e/package-lock.json; and webphone/node_modules (from
# webphone/package-lock.json), which TestAssetsUpToDate builds the web
# phone with; installed when missing (with sudo when not root).
deps:
	@command -v sipp >/dev/null 2>&1 || { \
	  echo "make: installing sip-tester (sipp)"; \
	  if [ "$$(id -u)" = 0 ]; then s=; else s=sudo; fi; \
	  $$s apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq sip-tester; }
	@pkgs=; [ -x /usr/bin/chromium ] || pkgs="$$pkgs chromium"; \
	  command -v ip >/dev/null 2>&1 || pkgs="$$pkgs iproute2"; \
	  command -v openssl >/dev/null 2>&1 || pkgs="$$pkgs openssl"; \
	  command -v turnutils_uclient >/dev/null 2>&1 || pkgs="$$pkgs coturn"; \
	  [ -z "$$pkgs" ] || { \
	  echo "make: installing$$pkgs"; \
	  if [ "$$(id -u)" = 0 ]; then s=; else s=sudo; fi; \
	  $$s apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$s apt-get install -y -qq $$pkgs; }
	@[ -d e2e/node_modules ] || { \
	  echo "make: npm ci --prefix e2e"; \
	  npm ci --prefix e2e --no-audit --no-fund; }
	@[ -d webphone/node_modules ] || { \
	  echo "make: npm ci --prefix webphone"; \
	  npm ci --prefix webphone --no-audit --no-fund; }

# Rebuilds the embedded pages (web/assets) from webphone/src; commit
# web/assets with the source (TestAssetsUpToDate checks they agree).
# `go build` itself needs no node: web/assets is committed.
webphone:
	@[ -d webphone/node_modules ] || npm ci --prefix webphone --no-audit --no-fund
	cd webphone && node build.mjs

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	@out=$$(gofmt -l . | grep -v '^bench/.*/vendor/' || true); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	cd bench/sipgo && $(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

# The comparison benchmarks must keep building and passing their own
# checks; one iteration each is enough for that.
bench-check:
	cd bench/sipgo && $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...
	cd bench/sipedge && $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x .

bench:
	COUNT=$(COUNT) bash bench/parser.sh

# TURN load, sipedge against coturn (bench/README.md); needs coturn.
bench-turn:
	bash bench/turnload.sh

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseDatagram$$' -fuzztime $(FUZZTIME) ./sip
	$(GO) test -run '^$$' -fuzz '^FuzzStream$$' -fuzztime $(FUZZTIME) ./sip
	$(GO) test -run '^$$' -fuzz '^FuzzURI$$' -fuzztime $(FUZZTIME) ./sip
	$(GO) test -run '^$$' -fuzz '^FuzzEdits$$' -fuzztime $(FUZZTIME) ./sip
	$(GO) test -run '^$$' -fuzz '^FuzzWSFrames$$' -fuzztime $(FUZZTIME) ./transport
	$(GO) test -run '^$$' -fuzz '^FuzzStreamConn$$' -fuzztime $(FUZZTIME) ./transport
	$(GO) test -run '^$$' -fuzz '^FuzzProxyHeader$$' -fuzztime $(FUZZTIME) ./transport
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./config
	$(GO) test -run '^$$' -fuzz '^FuzzRegister$$' -fuzztime $(FUZZTIME) ./registrar
	$(GO) test -run '^$$' -fuzz '^FuzzProxy$$' -fuzztime $(FUZZTIME) ./proxy
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./flowtoken
	$(GO) test -run '^$$' -fuzz '^FuzzResolveLiteral$$' -fuzztime $(FUZZTIME) ./locate
	$(GO) test -run '^$$' -fuzz '^FuzzParseHost$$' -fuzztime $(FUZZTIME) ./locate
	$(GO) test -run '^$$' -fuzz '^FuzzCheck$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./wscookie
	$(GO) test -run '^$$' -fuzz '^FuzzPermit$$' -fuzztime $(FUZZTIME) ./turn/peerpolicy
	$(GO) test -run '^$$' -fuzz '^FuzzChannelBindFilter$$' -fuzztime $(FUZZTIME) ./turn
	$(GO) test -run '^$$' -fuzz '^FuzzTURNCredentials$$' -fuzztime $(FUZZTIME) ./web

clean:
	rm -rf $(BIN)
