#!/usr/bin/env bash
# Installs, when missing, the servers the tests start on loopback ports of their own:
# redis-server (Redis store, cluster failover), etcd (etcd membership), Chromium (browser test).
# Needs apt-get and root; without them it says what is missing and those tests skip.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: missing ${need[*]} (install them to run every test; their tests skip meanwhile)" >&2
  exit 0
fi
echo "test-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
