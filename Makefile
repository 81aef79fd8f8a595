# kai-scaler. `make run` starts the demo (no Redis, Prometheus or cluster needed);
# `make test` installs and starts what the tests need, then runs every test with -race.
GO ?= go
PKGS ?= ./...
TEST_TIMEOUT ?= 40m

.PHONY: lint run serve build image test test-short test-chart bench kubebins vet fmt-check dashboards accuracy replay fuzz pgo

# Go modules below the root (their own go.mod, outside ./...): the Helm chart's tests, kept
# apart so Helm's dependency tree stays out of the main go.mod.
CHART_TEST_MODULE = deploy/helm/charttest

# The version and revision stamped into the binary and the image (kai-scaler version).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/kai-platform/kai-scaler/internal/buildinfo.Version=$(VERSION) \
	-X github.com/kai-platform/kai-scaler/internal/buildinfo.Revision=$(REVISION)

# What make test compiles without -race (vet, lint, the tests that build the binary or the
# image, the envtest binaries) shares one build configuration: static and trimmed as the image
# is, without default.pgo (profile-guided optimisation changes how code is optimised, not what
# it does). Each configuration compiles the whole dependency tree again, and with the profile
# go vet ./... compiled it twice, with it for cmd/kai-scaler and without for the rest: on a cold
# machine that was most of the run's time.
STATIC = CGO_ENABLED=0 GOFLAGS="-trimpath -pgo=off $(GOFLAGS)"

# Loopback: serve refuses to listen beyond it without API_TOKEN. Built first, with a word, so
# the first (minutes-long, silent) compile is not mistaken for a hang.
run:
	@echo "compiling kai-scaler (the first build takes a minute or two)…"
	@mkdir -p .cache
	$(GO) build -o .cache/kai-scaler ./cmd/kai-scaler
	@echo "starting the demo: API on http://127.0.0.1:8080 (Ctrl-C stops it)"
	.cache/kai-scaler serve --demo --listen.addr=127.0.0.1:8080

serve:
	$(GO) run ./cmd/kai-scaler serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o kai-scaler ./cmd/kai-scaler

# The container image without Docker: a static binary on no base image, written as
# .cache/kai-scaler-image.tar (OCI layout and docker archive: docker load, kind load
# image-archive, crane push). The Dockerfile builds the same for users with Docker.
image:
	@mkdir -p .cache/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o .cache/image/kai-scaler ./cmd/kai-scaler
	$(GO) run ./hack/image -binary .cache/image/kai-scaler -out .cache/kai-scaler-image.tar \
		-version $(VERSION) -revision $(REVISION)

# Every test, against real Redis, Prometheus and kube-apiserver (installed, started or built by
# hack/with-test-env.sh). -p 2: the machine has 2 cores and the integration tests start servers.
test: fmt-check vet lint
	TEST_TIMEOUT=$(TEST_TIMEOUT) hack/with-test-env.sh hack/run-tests.sh $(PKGS)

# Unit tests only: integration tests skip with a message when their servers are not configured.
test-short:
	$(GO) test -count=1 $(PKGS)
	cd $(CHART_TEST_MODULE) && $(GO) test -count=1 ./...

# The Helm chart's tests only (render, lint, and with a kube-apiserver the dry-run apply and
# an install and upgrade).
test-chart:
	hack/with-test-env.sh sh -c 'cd $(CHART_TEST_MODULE) && $(GO) test -count=1 -v ./...'

vet:
	$(STATIC) $(GO) vet $(PKGS)
	cd $(CHART_TEST_MODULE) && $(STATIC) $(GO) vet ./...

# golangci-lint v2 from its own tools module (tools/go.mod keeps it out of the main go.mod);
# the agreed config is .golangci.yml. The first build takes a minute or two.
lint:
	@echo "golangci-lint (building it the first time takes a minute or two)..."
	$(STATIC) $(GO) tool -modfile=tools/go.mod golangci-lint run ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

kubebins:
	hack/kubebins/build.sh $${KAI_KUBEBIN_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/kai-scaler/kubebin-v1.37.2}

# Benchmarks: API latency against the Redis floor, forecasting speed, store throughput; then
# the forecast command's speed table (BENCH_SERIES series; 10,000 is the issue's target size).
BENCH_SERIES ?= 10000
bench:
	hack/with-test-env.sh $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m $(PKGS)
	hack/bench-forecast.sh $(BENCH_SERIES)

# Also copies the dashboards and alert rules into the Helm chart, which can only read files
# inside itself.
dashboards:
	$(GO) run ./cmd/kai-scaler dashboards --out dashboards/json --prometheusrule deploy/base/prometheusrule.yaml
	rm -f deploy/helm/kai-scaler/files/dashboards/*.json
	cp dashboards/json/*.json deploy/helm/kai-scaler/files/dashboards/
	cp dashboards/alerts.yaml deploy/helm/kai-scaler/files/alerts.yaml

accuracy:
	hack/accuracy.sh

# The floors' replay table: simulate --max 50 on every trace (STANDINS=1 adds the generated ones).
replay:
	hack/replay.sh

# Regenerates cmd/kai-scaler/default.pgo, the profile go build optimises the binary with.
pgo:
	hack/pgo.sh

# Go native fuzz tests, each for FUZZTIME (their seeds, f.Add and testdata/fuzz, run in every
# "go test"). A failing input is written to the package's testdata/fuzz/<name>: commit it as a
# regression seed with the fix.
FUZZTIME ?= 30s
FUZZ_TARGETS = \
	./api:FuzzDecodePatternRequest \
	./api:FuzzDecodeDependencyRequest \
	./api:FuzzDecodeOverrideRequest \
	./api:FuzzDecodeEmptyObject \
	./api:FuzzPostPattern \
	./scaling:FuzzParseServices \
	./cmd/kai-scaler:FuzzScanSeriesCSV \
	./cmd/kai-scaler:FuzzScanWideCSV \
	./hpaevents/history:FuzzSelector
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done
