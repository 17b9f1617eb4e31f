#!/usr/bin/env bash
# Runs a load test against a fresh cluster of liveroomd nodes on loopback ports that share one
# throwaway redis-server, and stops everything it started (by pid) when it ends.
#   scripts/cluster-loadtest.sh [liveroom-loadtest flags...]
# The load tester gets every node's URL (viewer i and post i go to node i % NODES) and every
# node's pid (CPU and RSS summed and per node). Its exit status is the script's. Once the
# nodes are ready it prints their pids on stderr (in --url order, n1 first): a fault run kills
# (kill -9) or freezes (kill -STOP, then -CONT) one of them by pid, and the viewers follow
# /v1/route to the others (each node is started with --advertise, so the route names it).
# Environment:
#   NODES         nodes (default 6; one node holds at most ~19.9k viewers on this box)
#   MEMBERS       how many of the nodes are members (default all). With fewer, nodes
#                 1..MEMBERS are members that host the rooms and take no viewers (no
#                 --advertise), the others are edges (--edge) that hold the viewers: the load
#                 tester gets the edges' URLs only and every node must list MEMBERS members
#   BASE_PORT     node k (1..NODES) serves HTTP on BASE_PORT+k, its actor port is
#                 BASE_PORT+100+2k and its membership port the one after (default 18100)
#   REDIS_PORT    the redis-server's port (default BASE_PORT+99)
#   SERVER_FLAGS  extra liveroomd flags for every node
#   KILL_NODES    kill -9 the last KILL_NODES nodes (edges, with MEMBERS) KILL_AT into the send
#                 phase (the load tester's --kill-pids and --kill-at): a reconnect storm
#   PUSH_EACH     1: the push-each baseline (liveroomd built with -tags pusheach, every node
#                 run with --push-each)
#   MEMBERSHIP    etcd (default when etcd is installed: a throwaway one-member etcd on
#                 BASE_PORT+97/98) or seeds (--cluster-seeds: protoactor's automanaged provider,
#                 which drops a member after one failed 2 s health poll)
#   PPROF_BASE    node k serves net/http/pprof on 127.0.0.1:PPROF_BASE+k (default: off)
#   LT_NICE       niceness of the load tester (default 10): it shares the box with the nodes,
#                 and nodes starved by it would miss their membership deadlines
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-6}
MEMBERS=${MEMBERS:-$NODES}
BASE_PORT=${BASE_PORT:-18100}
REDIS_PORT=${REDIS_PORT:-$((BASE_PORT + 99))}
command -v redis-server >/dev/null || { echo "cluster-loadtest: redis-server is not installed (.ci/run installs it)" >&2; exit 2; }
mkdir -p bin
tags=() baseline=()
if [ "${PUSH_EACH:-}" = 1 ]; then tags=(-tags pusheach) baseline=(--push-each); fi
go build "${tags[@]}" -o bin/ ./cmd/liveroomd ./cmd/liveroom-loadtest
ulimit -n "$(ulimit -Hn)" # each node holds one file per viewer

MEMBERSHIP=${MEMBERSHIP:-$(command -v etcd >/dev/null && echo etcd || echo seeds)}
LT_NICE=${LT_NICE:-10}
NODE_PIDS=() REDIS_PID= ETCD_PID= URLS=()
TMP=$(mktemp -d)
alive() { # PID...: true while any of them runs
  local pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 0; done
  return 1
}
# stop PID...: SIGTERM to each (liveroomd saves its rooms), SIGKILL to what is left after 10 s.
stop() {
  local pid
  kill "$@" 2>/dev/null || true
  for _ in $(seq 100); do
    alive "$@" || break
    sleep 0.1
  done
  for pid in "$@"; do
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
# Only what this script started, by pid: the nodes, then the Redis they save to.
stop_all() {
  [ ${#NODE_PIDS[@]} -eq 0 ] || stop "${NODE_PIDS[@]}"
  [ -z "$REDIS_PID" ] || stop "$REDIS_PID"
  [ -z "$ETCD_PID" ] || stop "$ETCD_PID"
  rm -rf "$TMP"
}
trap stop_all EXIT

# wait_port PORT PID NAME LOG: wait until PORT accepts (no curl or redis-cli needed); fail with
# the log if PID exits or 10 s pass.
wait_port() {
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    if ! kill -0 "$2" 2>/dev/null || [ "$i" -eq 100 ]; then
      echo "cluster-loadtest: $3 did not start on $1:" >&2
      cat "$4" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# A Redis of our own, no persistence.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$TMP" --loglevel warning \
  >"$TMP/redis.log" 2>&1 &
REDIS_PID=$!
wait_port "$REDIS_PORT" "$REDIS_PID" redis-server "$TMP/redis.log"

# With etcd membership, an etcd of our own.
ETCD_PORT=$((BASE_PORT + 97))
if [ "$MEMBERSHIP" = etcd ]; then
  etcd --name lt --data-dir "$TMP/etcd" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "lt=http://127.0.0.1:$((ETCD_PORT + 1))" --log-level error >"$TMP/etcd.log" 2>&1 &
  ETCD_PID=$!
  wait_port "$ETCD_PORT" "$ETCD_PID" etcd "$TMP/etcd.log"
fi

# The nodes: each lists every other node's actor address as a seed (or uses etcd). Connection limits are
# lifted: thousands of viewers come from a handful of loopback addresses. Their output goes to
# stderr: stdout is the load tester's summary.
for k in $(seq "$NODES"); do
  seeds=()
  for j in $(seq "$NODES"); do
    [ "$j" = "$k" ] || seeds+=("127.0.0.1:$((BASE_PORT + 100 + 2 * j))")
  done
  port=$((BASE_PORT + k))
  membership=(--cluster-seeds "$(IFS=,; echo "${seeds[*]}")")
  [ "$MEMBERSHIP" = etcd ] && membership=(--etcd "127.0.0.1:$ETCD_PORT")
  pprof=()
  [ -z "${PPROF_BASE:-}" ] || pprof=(--pprof "127.0.0.1:$((PPROF_BASE + k))")
  role=(--advertise "ws://127.0.0.1:$port/v1/ws")
  [ "$MEMBERS" = "$NODES" ] || { [ "$k" -le "$MEMBERS" ] && role=() || role+=(--edge); }
  bin/liveroomd --addr "127.0.0.1:$port" --node "n$k" \
    --cluster-bind "127.0.0.1:$((BASE_PORT + 100 + 2 * k))" "${membership[@]}" \
    "${role[@]}" --redis "redis://127.0.0.1:$REDIS_PORT/0" \
    --jwt-secret lt-secret --api-key lt-api --admin-key lt-admin \
    --conn-per-ip 1000000 --conn-per-uid 1000000 --http-rate-per-ip -1 --http-conns-per-ip -1 --log-level warn "${pprof[@]}" "${baseline[@]}" ${SERVER_FLAGS:-} >&2 &
  NODE_PIDS+=($!)
  [ "$MEMBERS" != "$NODES" ] && [ "$k" -le "$MEMBERS" ] || URLS+=("http://127.0.0.1:$port")
done

# ready PORT: GET /readyz answers 200 (cluster joined, Redis reachable).
ready() (
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  read -r _ status _ <&3
  [ "$status" = 200 ]
)
# members PORT: the node's liveroom_cluster_members gauge (/readyz says a node joined, not that
# it lists every other node: protoactor's automanaged membership polls the seeds every second).
members() (
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  while read -r name value <&3; do
    [ "$name" = liveroom_cluster_members ] && { echo "${value%$'\r'}"; exit 0; }
  done
  exit 1
)
for k in $(seq "$NODES"); do
  for i in $(seq 600); do # 60 s
    ready "$((BASE_PORT + k))" 2>/dev/null && [ "$(members "$((BASE_PORT + k))" 2>/dev/null)" = "$MEMBERS" ] && break
    if ! kill -0 "${NODE_PIDS[k - 1]}" 2>/dev/null || [ "$i" -eq 600 ]; then
      echo "cluster-loadtest: node n$k (127.0.0.1:$((BASE_PORT + k))) is not ready or does not list $MEMBERS members" >&2
      exit 1
    fi
    sleep 0.1
  done
done
echo "cluster-loadtest: $NODES nodes ready, $MEMBERS members (pids ${NODE_PIDS[*]}, membership $MEMBERSHIP), Redis on $REDIS_PORT" >&2

kill=()
if [ "${KILL_NODES:-0}" -gt 0 ]; then
  kill=(--kill-pids "$(IFS=,; echo "${NODE_PIDS[*]: -$KILL_NODES}")" --kill-at "${KILL_AT:?KILL_NODES needs KILL_AT}")
fi
nice -n "$LT_NICE" bin/liveroom-loadtest --url "$(IFS=,; echo "${URLS[*]}")" --server-pid "$(IFS=,; echo "${NODE_PIDS[*]}")" "${kill[@]}" \
  --api-key lt-api --admin-key lt-admin --jwt-secret lt-secret "$@"
