# liveroom: see README.md. `make run` and `make test` are the two set-up commands.
GO      ?= go
ADDR    ?= :8080
PROTOC  ?= protoc

.PHONY: run test test-short fuzz-short bench bench-smoke lint proto loadtest build

run: ## start liveroomd --dev on :8080 (in-memory store, one node) and print how to connect
	$(GO) run ./cmd/liveroomd --dev --addr $(ADDR)

# protoactor-go's cluster internals race under -race (DESIGN.md section 4): tests that start a
# cluster member in-process are built with `//go:build !race` and run in the second, non-race
# pass; everything else (and our own concurrent code: rings, replicas, sessions) runs with -race.
# The end-to-end tests (real liveroomd processes, Redis, Chromium) run last and alone: they
# measure a page's frame rate and a failover's recovery, which other packages' CPU would skew.
test: ## everything CI runs: installs redis/etcd/chromium when missing, vet, gofmt, tests with -race, cluster and end-to-end tests
	scripts/test-deps.sh
	$(MAKE) lint
	$(GO) test -race -count=1 -timeout 15m $$($(GO) list ./... | grep -v /e2e)
	$(GO) test -race -count=1 -tags pusheach -run PushEach ./actors/
	$(GO) test -count=1 -timeout 15m $$(grep -rl '^//go:build !race' --include='*_test.go' --exclude-dir=third_party . | xargs -n1 dirname | sort -u)
	$(MAKE) fuzz-short
	$(MAKE) bench-smoke
	$(GO) test -count=1 -timeout 15m ./e2e/...

test-short: ## quick tests (skips the browser test and long end-to-end cases)
	$(GO) test -short -count=1 ./...

# Every fuzz target of the tree, as package:Target (fuzz-short fails when one is missing here;
# third_party/ holds other modules, not checked).
# `go test -fuzz` takes one target of one package per run; a run costs ~2 s of build and link
# on top of FUZZTIME (vet is off: lint runs it), so the 16 targets take about 16 x (5 + 2) s,
# under two minutes on an idle machine. A failing
# input is written to the package's testdata/fuzz/<Target>/ (commit it: it becomes a seed).
FUZZTIME ?= 5s
FUZZ_TARGETS = \
	./internal/socket/:FuzzRawSocket ./transport/:FuzzParseFrame ./transport/:FuzzParseFlat \
	./transport/:FuzzSessionFrames ./transport/:FuzzPostBody ./transport/:FuzzParseNotice \
	./transport/:FuzzParseTTL ./transport/:FuzzParseConfigPatch ./transport/:FuzzParsePullQuery \
	./transport/:FuzzValidID ./ring/:FuzzWindow ./loadtest/:FuzzParseNodeMetrics \
	./loadtest/:FuzzParseMsgs ./wire/:FuzzAppendString ./wire/:FuzzMsgsFrame ./transport/:FuzzParseAdd

fuzz-short: ## run each fuzz target for FUZZTIME (default 5s), one after another (make test runs it)
	@missing=$$(for f in $$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' --exclude-dir=third_party . | sed 's/^func //'); do \
		case " $(FUZZ_TARGETS) " in *":$$f "*) ;; *) echo "$$f";; esac; done); \
	if [ -n "$$missing" ]; then echo "fuzz targets missing from FUZZ_TARGETS in the Makefile:" $$missing; exit 1; fi
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		$(GO) test -vet=off -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

bench-smoke: ## every benchmark once (a benchmark that fails or panics fails make test)
	$(GO) test -run '^$$' -bench . -benchtime 1x $$($(GO) list ./... | grep -v -e /e2e -e /cmd/)

bench: ## micro-benchmarks of the hot paths (encodings, rings, rooms, dispatch)
	$(GO) test -run '^$$' -bench . -benchmem ./wire/ ./ring/ ./rooms/ ./actors/ ./transport/

lint: ## go vet, staticcheck (unused code, simplifications, likely bugs), the gofmt check and the push-each baseline's build
	$(GO) vet ./...
	$(GO) build -tags pusheach ./... && $(GO) vet -tags pusheach ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

proto: ## regenerate actors/pb from messages.proto (needs protoc: apt-get install protobuf-compiler)
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(PROTOC) --go_out=. --go_opt=module=github.com/liveroom/liveroom actors/pb/messages.proto

loadtest: ## 2k viewers, 1 room, 200 normal msg/s + 1 notice/s for 30 s against a fresh liveroomd; fails over budget
	scripts/loadtest.sh --viewers 2000 --duration 30s --rate normal=200,system=1 \
		--out loadtest-result.json --html loadtest-report.html --fail-if 'p99<1s,lost=0,acct=0'

# One process holds at most ~19.9k files here, so 100k viewers need at least 6 liveroomd nodes
# (the load tester spreads its viewers over worker processes of 15k each). Viewers join with
# push (one frame per viewer per round: the two cores cannot carry three), rounds of a node's
# ~16.7k viewers are paced to 10 s (--round-per-member 600us) and windows hold 20 messages
# (--push-limit 20): what this box's shared cores can write and read for 100k viewers.
.PHONY: loadtest-cluster
loadtest-cluster: NODES ?= 6
loadtest-cluster: ## 100k viewers in 1 room over NODES (6) liveroomd nodes sharing one Redis, 200 normal msg/s + 1 notice/s for 60 s; fails over budget or if a node loses a member
	NODES=$(NODES) SERVER_FLAGS="--round-per-member 600us --push-limit 20" scripts/cluster-loadtest.sh \
		--viewers 100000 --duration 60s --rate normal=200,system=1 --drain 30s --push --connect-rate 800 \
		--out loadtest-cluster-result.json --html loadtest-cluster-report.html \
		--fail-if 'lost=0,acct=0,exited=0,bpv<=8192,members>=$(NODES),members_left=0'

# The million-viewer run (issue 14): 1M viewers of one room over 3 members and 52 edges
# (--edge: sessions only, no gossip), 200 chat/s + a notice every 10 s for 5 min once all
# joined, 5 edges killed with SIGKILL 2 min in (scripts/million.sh checks the machine first:
# open files, tcp_mem, memory). VIEWERS=100000 for a smaller run of the same shape.
.PHONY: loadtest-million
loadtest-million: ## 1M viewers in 1 room over 3 members + 52 edges, 200 msg/s + a notice per 10 s for 5 min, 5 edges killed; fails over budget
	scripts/test-deps.sh
	scripts/million.sh

build: ## build the binaries into ./bin
	$(GO) build -o bin/ ./cmd/...

# The fault suite's long versions (e2e/faults_test.go): every scenario with CHAOS_VIEWERS viewers
# over the three nodes and CHAOS_SECONDS of sending where the scenario allows (the kills).
.PHONY: chaos
chaos: CHAOS_VIEWERS ?= 3000
chaos: CHAOS_SECONDS ?= 120
chaos: ## the fault suite at 3,000 viewers and 120 s runs (kills, a hung store, a frozen node, rolling and etcd restarts)
	scripts/test-deps.sh
	CHAOS_VIEWERS=$(CHAOS_VIEWERS) CHAOS_SECONDS=$(CHAOS_SECONDS) $(GO) test -count=1 -timeout 90m -run '^TestFault' -v ./e2e/

# The operations issue's rolling restart: 5,000 viewers over three nodes, each node in turn
# SIGTERMed (drained over --drain), restarted and back in the cluster, notices flowing.
.PHONY: rolling-restart
rolling-restart: CHAOS_VIEWERS ?= 5000
rolling-restart: ## the rolling restart of the three nodes with 5,000 viewers: 0 notices lost, exact accounting, reconnects spread
	scripts/test-deps.sh
	CHAOS_VIEWERS=$(CHAOS_VIEWERS) $(GO) test -count=1 -timeout 30m -run '^TestFaultRollingRestart$$' -v ./e2e/

# Half of 10k viewers stop reading their sockets: they must be closed as unresponsive, the
# server's memory stays bounded, and the other half keep receiving (compare with a run without
# --slow: the same command with SLOW=0).
.PHONY: loadtest-slow
loadtest-slow: SLOW ?= 0.5
loadtest-slow: ## 10k viewers, half of them stop reading (--slow-mode stop), 200 msg/s + 1 notice/s for 60 s
	scripts/loadtest.sh --viewers 10000 --duration 60s --rate normal=200,system=1 --per-worker 10000 --drain 15s \
		--slow $(SLOW) --slow-mode stop --viewer-io goroutine --out loadtest-slow-result.json --html loadtest-slow-report.html \
		--fail-if 'lost=0,acct=0,slow_open=0'

# 30 minutes at 19k viewers with 1 % of them reconnecting each minute: RSS and goroutines must
# stay flat (within 5 %) after a 5-minute warm-up, with nothing lost.
.PHONY: soak
soak: ## 30 min, 19k viewers, 200 msg/s + 1 notice/s, 1 % reconnecting per minute; fails if RSS or goroutines drift over 5 %
	scripts/loadtest.sh --viewers 19000 --duration 30m --rate normal=200,system=1 --per-worker 10000 --drain 30s \
		--churn 0.01 --warmup 5m --viewer-io goroutine --out soak-result.json --html soak-report.html \
		--fail-if 'lost=0,acct=0,rss_drift<=0.05,goroutines_drift<=0.05'
