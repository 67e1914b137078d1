#!/usr/bin/env bash
# What one build of the collector costs against another on one executor's
# backlog: a 1.2M-line Spark log (one file, one Kafka key) is shipped by each
# build in turn, A B A B ..., each run a collector started on the file with a
# fresh state directory, sent SIGTERM after 1.5 s (it then drains the file to
# its end, sends, checkpoints and exits). Prints per run the CPU (user + sys)
# and wall seconds, then the medians and the ratio A/B of the pairs' medians.
#
#   bash test/bench/collector-order.sh BEFORE_CHECKOUT AFTER_CHECKOUT [PAIRS]
#
# Each checkout must be built (npx tsc -p tsconfig.json). Kafka: the one
# SPARKLOGS_KAFKA_BROKERS names (127.0.0.1:19092, the test stack, by default);
# the topic t-order-bench.lines is created by the aggregator's setup of the
# second checkout. Used for issue 29's figures in BENCHMARKS.md, with
#   git worktree add /tmp/before fffff13 && ln -s "$PWD/node_modules" /tmp/before/ && (cd /tmp/before && npx tsc -p tsconfig.json)
#   bash test/bench/collector-order.sh /tmp/before . 4
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BEFORE_CHECKOUT AFTER_CHECKOUT [PAIRS]" >&2; exit 2; }
a=$(cd "$2" && pwd); b=$(cd "$1" && pwd); pairs=${3:-4}
node=$(command -v node)
brokers=${SPARKLOGS_KAFKA_BROKERS:-127.0.0.1:19092}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$node" -e '
const fs = require("fs"); const loggers = ["Executor", "TaskSetManager", "BlockManager", "MemoryStore", "ShuffleBlockFetcherIterator"];
const fd = fs.openSync(process.argv[1], "w"); let s = "";
for (let i = 0; i < 1200000; i++) {
  s += `26/12/07 20:${String(Math.floor(i / 20000) % 60).padStart(2, "0")}:00 INFO ${loggers[i % 5]}: Finished task ${i}.0 in stage 3.0 (TID ${i}). ${i % 7 === 0 ? "Got 512 non-empty blocks including 12 local and 500 remote blocks" : "1859 bytes result sent to driver"}\n`;
  if (s.length > 1 << 20) { fs.writeSync(fd, s); s = ""; }
}
fs.writeSync(fd, s); fs.closeSync(fd);' "$work/spark.log"
SPARKLOGS_KAFKA_BROKERS=$brokers SPARKLOGS_ES_URL=${SPARKLOGS_ES_URL:-http://127.0.0.1:19200} SPARKLOGS_PREFIX=t-order-bench "$node" "$a/dist/aggregator/main.js" setup >/dev/null

ship() { # ship CHECKOUT -> "cpu wall"
  local st="$work/state" out="$work/out"
  rm -rf "$st"
  /usr/bin/time -f '%U %S %e' -o "$work/time" env SPARKLOGS_KAFKA_BROKERS="$brokers" SPARKLOGS_PREFIX=t-order-bench \
    SPARKLOGS_PATHS="$work/spark.log" SPARKLOGS_STATE_DIR="$st" SPARKLOGS_APP_TYPE=spark SPARKLOGS_APP_ID=spark-order-bench \
    SPARKLOGS_EXECUTOR_ID=1 SPARKLOGS_ROLE=executor SPARKLOGS_POD_NAME=p SPARKLOGS_POD_UID="u-$RANDOM" SPARKLOGS_SHUTDOWN_TIMEOUT_MS=600000 \
    "$node" "$1/dist/collector/main.js" >"$out" 2>&1 &
  local pid=$!
  sleep 1.5
  pkill -TERM -P "$pid" 2>/dev/null || true
  wait "$pid" || true
  grep -q collectorStopped "$out" || { echo "the collector of $1 did not drain and stop:" >&2; tail -3 "$out" >&2; exit 1; }
  awk '{ printf "%.3f %.3f\n", $1 + $2, $3 }' "$work/time"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

ship "$a" >/dev/null; ship "$b" >/dev/null # warm-up, not counted
: >"$work/a"; : >"$work/b"
for i in $(seq "$pairs"); do
  ra=$(ship "$a"); rb=$(ship "$b")
  echo "pair $i: A cpu/wall $ra   B cpu/wall $rb"
  echo "$ra" >>"$work/a"; echo "$rb" >>"$work/b"
done
for col in 1 2; do
  name=$([ $col = 1 ] && echo cpu || echo wall)
  ma=$(cut -d' ' -f$col "$work/a" | median); mb=$(cut -d' ' -f$col "$work/b" | median)
  echo "$name s: A (after) $ma, B (before) $mb, A/B $(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", a / b }')"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
