#!/usr/bin/env bash
# Is the simulator the bottleneck? Runs wrk and `stocklab sim` against the same endpoint of the
# same server for the same time with the same number of connections, and prints both request
# rates and their ratio (the target: sim >= 80% of wrk).
#
#   scripts/client-vs-wrk.sh              # 64 connections, 10 s each
#   CONNECTIONS=16 SECONDS_EACH=5 scripts/client-vs-wrk.sh
#
# Needs wrk (`apt-get install wrk`) and curl. The server is a release build on a fresh SQLite
# file on 127.0.0.1 (a random port); the endpoint is GET /api/products/ID, a single-row read.
# Client and server share the machine, as they do when the simulator is used here.
set -euo pipefail

CONNECTIONS=${CONNECTIONS:-64}
SECONDS_EACH=${SECONDS_EACH:-10}
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 2; }
cargo build --release --quiet -p stocklab
BIN=target/release/stocklab

DIR=$(mktemp -d)
"$BIN" serve --addr 127.0.0.1:0 --database-url "sqlite://$DIR/bench.db" --no-demo-data \
  >"$DIR/serve.out" 2>"$DIR/serve.err" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 100); do
  URL=$(sed -n 's/.*serving on \(http:[^ ]*\).*/\1/p' "$DIR/serve.out")
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "the server did not start:" >&2; cat "$DIR/serve.err" >&2; exit 2; }

ID=$(curl -sf "$URL/api/lab/reset" -H 'content-type: application/json' \
  -d '{"products": 1, "initial_stock": 100}' | sed -n 's/.*"ids":\[\([0-9]*\).*/\1/p')
ENDPOINT="$URL/api/products/$ID"
echo "endpoint: GET $ENDPOINT, $CONNECTIONS connections, ${SECONDS_EACH}s each"

# A short warm-up, so that neither run pays for the server's first requests.
wrk -t1 -c"$CONNECTIONS" -d1s "$ENDPOINT" >/dev/null

WRK_RATE=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" "$ENDPOINT" |
  awk '/^Requests\/sec:/ { print $2 }')
SIM_RATE=$("$BIN" sim --url "$URL" --no-reset --products 1 --mix read=1 \
  --clients "$CONNECTIONS" --duration "${SECONDS_EACH}s" --quiet |
  sed -n 's/.* = \([0-9]*\) ops\/s.*/\1/p')

awk -v wrk="$WRK_RATE" -v sim="$SIM_RATE" 'BEGIN {
  printf "wrk            %10.0f requests/s\n", wrk
  printf "stocklab sim   %10.0f requests/s\n", sim
  printf "ratio          %10.1f%%  (target >= 80%%) %s\n", 100 * sim / wrk, (sim >= 0.8 * wrk ? "met" : "NOT MET")
}'
