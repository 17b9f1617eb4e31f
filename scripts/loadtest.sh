#!/usr/bin/env bash
# Runs a load test against a fresh liveroomd on a loopback port and stops it afterwards.
#   scripts/loadtest.sh [liveroom-loadtest flags...]
# Environment: PORT (default 18090), SERVER_FLAGS (extra liveroomd flags), PUSH_EACH=1 (the
# push-each baseline: liveroomd built with -tags pusheach and run with --push-each), LIVEROOMD
# (another server binary, e.g. an older build to compare with; default bin/liveroomd).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18090}
mkdir -p bin
tags=() baseline=()
if [ "${PUSH_EACH:-}" = 1 ]; then tags=(-tags pusheach) baseline=(--push-each); fi
go build "${tags[@]}" -o bin/ ./cmd/liveroomd ./cmd/liveroom-loadtest
# Connection and HTTP limits per address are lifted: thousands of viewers come from a handful of
# loopback addresses.
"${LIVEROOMD:-bin/liveroomd}" --addr "127.0.0.1:$PORT" --jwt-secret lt-secret --api-key lt-api --admin-key lt-admin \
  --conn-per-ip 1000000 --conn-per-uid 1000000 --http-rate-per-ip -1 --http-conns-per-ip -1 --log-level warn "${baseline[@]}" ${SERVER_FLAGS:-} &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do # wait for the port (no curl needed)
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done
bin/liveroom-loadtest --url "http://127.0.0.1:$PORT" --api-key lt-api --admin-key lt-admin --jwt-secret lt-secret \
  --server-pid "$SERVER" "$@"
