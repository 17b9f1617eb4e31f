#!/usr/bin/env bash
# The million-viewer run (issue 14): VIEWERS (default 1,000,000) viewers of one room on this
# box, over MEMBERS (3) members that host the room and as many edges (--edge) as the sockets
# need (EDGE_VIEWERS, 19,600, per edge: a process holds at most ~19.9k files here), sharing one
# etcd and one Redis (scripts/cluster-loadtest.sh). 200 chat/s and a system notice every 10 s
# for DURATION (300s) once every viewer has joined; KILL_NODES (5) edges are killed with
# SIGKILL KILL_AT (120s) into it and their viewers follow /v1/route to the others and resume.
# Fails over budget: a lost notice, an accounting error, a node that exited by itself, a member
# lost from any edge's list, more than RSS_PER_VIEWER (6144) bytes of server RSS per viewer.
#   scripts/million.sh [extra liveroom-loadtest flags...]
# Before it starts it checks the machine: open files (fs.file-max), TCP memory (tcp_mem must
# hold one round of pushed frames in flight: it is raised, with a message, when too low) and
# the memory available.
set -euo pipefail
cd "$(dirname "$0")/.."
VIEWERS=${VIEWERS:-1000000}
MEMBERS=${MEMBERS:-3}
EDGE_VIEWERS=${EDGE_VIEWERS:-19600}
DURATION=${DURATION:-300s}
KILL_NODES=${KILL_NODES:-5}
KILL_AT=${KILL_AT:-120s}
RSS_PER_VIEWER=${RSS_PER_VIEWER:-6144}
FRAME_BYTES=${FRAME_BYTES:-3000} # one pushed window of 20 chat messages, as encoded, rounded up
EDGES=$(((VIEWERS + EDGE_VIEWERS - 1) / EDGE_VIEWERS))
NODES=$((MEMBERS + EDGES))
PAGE=$(getconf PAGESIZE)

# Open files: every viewer is a socket on each side.
need_files=$((2 * VIEWERS + 100000))
have_files=$(cat /proc/sys/fs/file-max)
if [ "$have_files" -lt "$need_files" ]; then
  echo "million: fs.file-max is $have_files; $VIEWERS viewers need about $need_files (both ends of every socket)" >&2
  sysctl -w fs.file-max="$need_files" >&2 || { echo "million: cannot raise fs.file-max (not root?)" >&2; exit 2; }
fi

# TCP memory: a round writes a frame to every viewer; if the readers lag, a round's frames sit
# in socket buffers. tcp_mem (pages) caps what all sockets hold: past its max the kernel drops
# and stalls connections. Ask for twice one round (the send and the receive side).
need_pages=$((2 * VIEWERS * FRAME_BYTES / PAGE))
read -r mem_min mem_pressure mem_max </proc/sys/net/ipv4/tcp_mem
if [ "$mem_max" -lt "$need_pages" ]; then
  echo "million: net.ipv4.tcp_mem max is $mem_max pages ($((mem_max * PAGE >> 20)) MB); one round of $VIEWERS frames of ~$FRAME_BYTES bytes, sent and received, needs $need_pages ($((need_pages * PAGE >> 20)) MB): raising it to $((need_pages / 2)) $((need_pages * 3 / 4)) $need_pages" >&2
  sysctl -w net.ipv4.tcp_mem="$((need_pages / 2)) $((need_pages * 3 / 4)) $need_pages" >&2 ||
    { echo "million: cannot raise net.ipv4.tcp_mem (not root?)" >&2; exit 2; }
fi

# Memory: the server's budget, the load tester's (~3 KB per viewer with --viewer-io epoll) and
# the kernel's sockets (~4 KB per viewer, both ends).
need_kb=$((VIEWERS * (RSS_PER_VIEWER + 3072 + 4096) / 1024))
avail_kb=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
if [ "$avail_kb" -lt "$need_kb" ]; then
  echo "million: $((avail_kb >> 10)) MB available; $VIEWERS viewers need about $((need_kb >> 10)) MB (server, load tester, kernel sockets)" >&2
  exit 2
fi

# One P per process: the box runs ~55 servers and as many tester workers on two cores, and with
# two Ps each spins looking for work (measured on 3 edges of 10k connecting: edges' CPU -21 %,
# the tester's -16 %, 522 -> 622 connects a second).
export GOMAXPROCS=${GOMAXPROCS:-1}
echo "million: $VIEWERS viewers over $EDGES edges and $MEMBERS members ($NODES nodes), GOMAXPROCS=$GOMAXPROCS" >&2
export NODES MEMBERS KILL_NODES KILL_AT
# The box's frame budget (docs/capacity.md): a window per viewer per 19.6 s (1 ms x 19.6k per
# edge, ~51k windows a second in all) and the keepalive's pings at most every 240 s to a
# silent viewer (--ping-interval 120s): at 600us and 30 s the windows and the pings wanted
# 1.2 cores each, more than the box has beside the edges' bases and the load tester.
SERVER_FLAGS=${SERVER_FLAGS:-"--round-per-member 1ms --push-limit 20 --ping-interval 120s"}
export SERVER_FLAGS
exec scripts/cluster-loadtest.sh --viewers "$VIEWERS" --rooms 1 --duration "$DURATION" \
  --rate normal=200,system=0.1 --push --drain 30s --connect-rate "${CONNECT_RATE:-800}" \
  --per-worker "${PER_WORKER:-19000}" --out million-result.json --html million-report.html \
  --fail-if "lost=0,acct=0,exited=0,rss_pv<=$RSS_PER_VIEWER,members>=$MEMBERS,members_left=0" "$@"
