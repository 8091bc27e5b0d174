# hollowmark: see README.md.
SHELL       := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO      ?= go
BIN     := $(CURDIR)/bin
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# The control plane, built from the pinned upstream modules (see go.mod).
UPSTREAM := k8s.io/kubernetes/cmd/kube-apiserver \
            k8s.io/kubernetes/cmd/kube-scheduler \
            k8s.io/kubernetes/cmd/kube-controller-manager \
            ./internal/tools/etcd
ETCD_VERSION := $(shell $(GO) list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)

# Upstream stamps its version into the binaries at link time (see its
# hack/lib/version.sh); we take it from the pinned module. The module zip does
# not carry the git commit, so that stays empty.
KUBE_VERSION := $(shell $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)
KUBE_DATE    := $(shell $(GO) list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
KV           := k8s.io/component-base/version
KUBE_LDFLAGS := -X $(KV).gitVersion=$(KUBE_VERSION) \
                -X $(KV).gitMajor=$(word 1,$(subst ., ,$(KUBE_VERSION:v%=%))) \
                -X $(KV).gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION))) \
                -X $(KV).gitTreeState=clean -X $(KV).buildDate=$(KUBE_DATE) \
                -X $(KV).gitCommit=

# Flags for `make run`; override on the command line, e.g.
#   make run RUN_FLAGS="--nodes 1000 --etcd-unsafe-no-fsync"
RUN_FLAGS ?= --nodes 100
# The built-in scenario `make run` runs (hollowmark scenarios lists them).
SCENARIO  ?= density

.PHONY: all build hollowmark upstream run test test-fidelity test-faults bench bench-peers kwok lint clean chromium image

all: build

build: hollowmark upstream

# The first build downloads the modules and compiles client-go and its
# kin; say so, since go build prints nothing while it works.
hollowmark:
	@[ -x $(BIN)/hollowmark ] || echo "building hollowmark: the first time this fetches Go modules and compiles client-go, which takes minutes"
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/hollowmark ./cmd/hollowmark

# The container image of hollowmark for running hollow-node shards as pods
# (docs/scaleout.md): a static binary (no cgo), run as a non-root user, no
# shell, written by internal/tools/image as an OCI archive that podman load,
# ctr images import and crane push accept. Its name is
# localhost/hollowmark:$(VERSION); its labels carry the version and commit.
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN)/image/hollowmark ./cmd/hollowmark
	$(GO) run ./internal/tools/image --binary $(BIN)/image/hollowmark --out $(BIN)/hollowmark-image.tar \
	  --version $(VERSION) --revision $(COMMIT)

# One go build for the four binaries, so that the go command schedules their
# shared packages once. -w drops DWARF, which nobody debugs these with: it
# halves the link's CPU time and takes a fifth off the size (kube-apiserver:
# 17 s -> 9 s of CPU, 150 -> 122 MB). The symbol table stays (no -s), so
# pprof and go tool nm still name functions. go build is incremental:
# seconds when nothing changed.
upstream:
	@echo "building kube-apiserver, kube-scheduler, kube-controller-manager (Kubernetes $(KUBE_VERSION)) and etcd ($(ETCD_VERSION)) from source into $(BIN): about 10 min on 2 cores the first time, seconds afterwards"
	$(GO) build -ldflags "-w $(KUBE_LDFLAGS)" -o $(BIN)/ $(UPSTREAM)

run: build
	$(BIN)/hollowmark run --scenario $(SCENARIO) $(RUN_FLAGS)

# Integration tests start real control planes from bin/; the race detector
# runs too (it found a real race in the HTTP/2 client).
test: build lint chromium
	HOLLOWMARK_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -run '^$$' -fuzz '^FuzzParseValidate$$' -fuzztime 30s ./scenarios/

# The request-mix check (docs/fidelity.md): hollow nodes' requests against
# what kubelet and kube-proxy v1.36 send, on a fresh control plane; about
# 9 minutes, most of it a 6-minute idle window, so not in make test.
test-fidelity: build
	HOLLOWMARK_BIN_DIR=$(BIN) $(GO) test -tags fidelity -count=1 -timeout 20m -run '^TestRequestMixMatchesKubelet$$' -v ./hollow/ | grep -v '^=== RUN'

# The fault suite (docs/reliability.md): kube-apiserver killed five times and
# etcd twice under `hollowmark up` with pods churning; a few minutes.
test-faults: build
	HOLLOWMARK_BIN_DIR=$(BIN) $(GO) test -tags faults -count=1 -timeout 30m -run '^TestKilledComponentsComeBackUnderChurn$$' -v ./cmd/hollowmark/ | grep -v '^=== RUN'

# The HTML report test renders report.html in headless Chromium. As root on
# Debian (CI) it is installed here; elsewhere the test skips without it,
# except under CI=true, where it fails.
chromium:
	@if command -v chromium >/dev/null; then exit 0; fi; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium (Debian package) for the report test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium not installed; the report rendering test will skip"; fi

# Benchmarks start real control planes and take several minutes. The raw
# go test output goes to bench.out; the table follows it.
bench: build
	HOLLOWMARK_BIN_DIR=$(BIN) $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./... | tee bench.out
	@echo; echo "| benchmark | metric | value |"; echo "|---|---|---|"
	@awk '/^Benchmark/ { for (i = 3; i < NF; i += 2) if ($$(i+1) != "ns/op") printf "| %s | %s | %s |\n", $$1, $$(i+1), $$i }' bench.out

# KWOK, the peer `make bench-peers` measures hollowmark beside
# (docs/benchmarks.md), built from its own module at a pinned version with
# its own go.mod: not in ours, whose Kubernetes pins its would fight. The
# kwok binary loads no stages by itself; kwokctl writes its default ones into
# the configuration of every cluster it makes. Those same files, the "fast"
# node and pod stages and the heartbeat with leases, are copied from the
# module into bin/kwok-stages.yaml, so that the benchmark runs KWOK as its
# users get it, at this version. The first build takes about 5 CPU-minutes
# (its Kubernetes modules are other versions than ours, so nothing is
# shared with the control plane's build); -w drops DWARF, as for the
# control plane, to shorten the link. Seconds once cached.
KWOK_VERSION := v0.8.0
KWOK_STAGES  := kustomize/stage/node/fast/node-initialize.yaml \
                kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
                kustomize/stage/pod/fast/pod-ready.yaml \
                kustomize/stage/pod/fast/pod-complete.yaml \
                kustomize/stage/pod/fast/pod-delete.yaml

kwok:
	GOBIN=$(BIN) $(GO) install -ldflags=-w sigs.k8s.io/kwok/cmd/kwok@$(KWOK_VERSION)
	@src=$$($(GO) env GOMODCACHE)/sigs.k8s.io/kwok@$(KWOK_VERSION); \
	  for f in $(KWOK_STAGES); do cat $$src/$$f; echo "---"; done > $(BIN)/kwok-stages.yaml.tmp && \
	  mv $(BIN)/kwok-stages.yaml.tmp $(BIN)/kwok-stages.yaml

# hollowmark beside KWOK on fresh, identical control planes (not in make
# test, not in CI): by default 1,000 nodes and 10,000 pods, 3 interleaved
# repeats of each, about an hour. The table is printed; results, timelines
# and plots go to results/bench-peers-<time>/. Flags, e.g.:
#   make bench-peers BENCH_PEERS_FLAGS="--repeats 1 --nodes 200 --pods 2000"
BENCH_PEERS_FLAGS ?=
.PHONY: test-peers
# The side-by-side benchmark end to end at 5 nodes and 20 pods per
# emulator; CI runs it after make test, which leaves it out because kwok's
# first build takes minutes.
test-peers: build kwok
	HOLLOWMARK_PEERS=1 HOLLOWMARK_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 15m -run '^TestBenchEndToEnd$$' -v ./benchpeers/ | grep -v '^=== RUN'

bench-peers: build kwok
	$(GO) build -o $(BIN)/benchpeers ./internal/tools/benchpeers
	$(BIN)/benchpeers --bin-dir $(BIN) $(BENCH_PEERS_FLAGS)

# The moonshot (docs/benchmarks.md): 5,000 hollow nodes beside the embedded
# control plane on this machine, density at 30 pods per node (150,000 pods),
# etcd without fsync. Hours on 2 cores; not in CI. The results directory
# holds time to Ready (step 1), saturation throughput (SchedulingThroughput),
# the SLO verdicts, and each process's CPU and memory (ResourceUsage); the
# terminal output also goes to its bench-5k.log. Flags, e.g.:
#   make bench-5k BENCH_5K_FLAGS="--param podsPerNode=10"
BENCH_5K_FLAGS ?=
.PHONY: bench-5k
bench-5k: build
	@out=results/bench-5k-$$(date -u +%Y%m%d-%H%M%S); mkdir -p $$out; rc=0; \
	  $(BIN)/hollowmark run --scenario density --nodes 5000 --etcd-unsafe-no-fsync \
	    --nodes-ready-timeout 45m --param nodesTimeout=45m --param runningTimeout=3h \
	    --out $$out $(BENCH_5K_FLAGS) 2>&1 | tee $$out/bench-5k.log || rc=$$?; \
	  echo "results: $$out"; exit $$rc

lint:
	@out=$$(gofmt -l .); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)

# The real-kubelet reference (docs/fidelity.md, "Real kubelet reference"): a
# kubelet built from the pinned module and stamped as the control plane, with
# containerd, runc and the CNI plugins from Debian (installed here as root
# with apt-get when missing, as chromium is), joins a fresh embedded control
# plane and runs the request-mix workload; one hollow node runs the same
# beside it on a second control plane. First a one-pod test checks that the
# node comes up and its clean-up leaves nothing behind. About 12 minutes; the
# table goes to results/reference-<time>/. Needs root. Flags, e.g.:
#   make reference REFERENCE_FLAGS="--pods 20 --idle 6m --hollow=false"
REFERENCE_FLAGS ?=
.PHONY: reference reference-packages
reference: build reference-packages
	$(GO) build -ldflags "-w $(KUBE_LDFLAGS)" -o $(BIN)/kubelet k8s.io/kubernetes/cmd/kubelet
	CGO_ENABLED=0 $(GO) build -ldflags "-s -w" -o $(BIN)/pause ./reference/pause
	$(GO) build -o $(BIN)/reference ./reference
	HOLLOWMARK_REAL_KUBELET=1 HOLLOWMARK_BIN_DIR=$(BIN) $(GO) test -count=1 -run TestRealNodeJoinsAndCleansUp ./internal/realnode
	$(BIN)/reference --bin-dir $(BIN) $(REFERENCE_FLAGS)

reference-packages:
	@missing=; for c in containerd ctr runc unshare nsenter ip; do command -v $$c >/dev/null || missing=1; done; \
	  for p in bridge host-local loopback; do [ -x /usr/lib/cni/$$p ] || missing=1; done; \
	  if [ -z "$$missing" ]; then exit 0; fi; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing containerd, runc and containernetworking-plugins (Debian packages) for the real-kubelet reference"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd runc containernetworking-plugins iproute2 util-linux >/dev/null; \
	  else echo "the real kubelet (make reference, make test-scaleout) needs root and containerd, runc, containernetworking-plugins (Debian: apt-get install them as root)"; exit 1; fi

# The scale-out test (docs/scaleout.md): a base control plane with one real
# kubelet (containerd, runc and the CNI plugins from Debian, installed here
# as root when missing, as for make reference), hollowmark's image imported
# into it, the manifests of `hollowmark manifests` applied, and 3 shard pods
# whose hollow nodes register in a second, target control plane; then one
# shard's pod is deleted and another scaled away and back, and their nodes
# come back Ready under the same names. About 5 minutes once built; the
# figures (lines "figure:") go to results/scaleout-<time>/test.log. Needs root.
# Not part of make test, which it would lengthen by about 5 minutes; CI
# runs it after make test.
.PHONY: test-scaleout
test-scaleout: build image reference-packages
	$(GO) build -ldflags "-w $(KUBE_LDFLAGS)" -o $(BIN)/kubelet k8s.io/kubernetes/cmd/kubelet
	CGO_ENABLED=0 $(GO) build -ldflags "-s -w" -o $(BIN)/pause ./reference/pause
	@out=results/scaleout-$$(date -u +%Y%m%d-%H%M%S); mkdir -p $$out; \
	  HOLLOWMARK_SCALEOUT=1 HOLLOWMARK_BIN_DIR=$(BIN) HOLLOWMARK_IMAGE=$(BIN)/hollowmark-image.tar \
	  $(GO) test -count=1 -v -timeout 15m -run TestScaleOutOnARealKubelet ./deploy | tee $$out/test.log
