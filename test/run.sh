#!/usr/bin/env bash
# npm test: install what is missing, build, bring up a test stack (its own
# ports and directory, so a developer's running stack is never touched), run
# every test, and bring the test stack down again, also on failure or Ctrl-C.
#
#   npm test                      every test
#   npm test -- test/x.test.ts    some tests
#   SPARKLOGS_TEST_KEEP_STACK=1   leave the test stack running for the next run
#   SPARKLOGS_TEST_KAFKA_BROKERS + SPARKLOGS_TEST_ES_URL   use an existing stack instead
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "npm test: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
if [ $build = 1 ]; then
  echo "npm test: building (tsc)"
  npx tsc -p tsconfig.json
fi

if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort); fi

managed=0
if [ -z "${SPARKLOGS_TEST_KAFKA_BROKERS:-}" ] || [ -z "${SPARKLOGS_TEST_ES_URL:-}" ]; then
  if [ "$(id -u)" = 0 ]; then home=${SPARKLOGS_HOME:-/var/lib/sparklogs}; else home=${SPARKLOGS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/sparklogs}; fi
  export SPARKLOGS_HOME=$home
  export SPARKLOGS_STACK_DIR=${SPARKLOGS_TEST_STACK_DIR:-$home/test-stack}
  export SPARKLOGS_KAFKA_PORT=${SPARKLOGS_TEST_KAFKA_PORT:-19092}
  export SPARKLOGS_ES_PORT=${SPARKLOGS_TEST_ES_PORT:-19200}
  managed=1
  stop_stack() {
    if [ "${SPARKLOGS_TEST_KEEP_STACK:-0}" != 1 ]; then
      bash deploy/local/stack down || true
      # `down` must leave no process of the stack behind.
      if pgrep -f -- "$SPARKLOGS_STACK_DIR" >/dev/null; then
        echo "npm test: processes of the test stack survived 'down':" >&2
        pgrep -af -- "$SPARKLOGS_STACK_DIR" >&2
        exit 1
      fi
    fi
  }
  trap stop_stack EXIT
  trap 'exit 130' INT TERM
  if ! bash deploy/local/stack status >/dev/null 2>&1; then
    # A test stack that is not healthy is thrown away: each run starts clean.
    bash deploy/local/stack down >/dev/null 2>&1 || true
    rm -rf "$SPARKLOGS_STACK_DIR"
  fi
  bash deploy/local/stack up
  export SPARKLOGS_TEST_KAFKA_BROKERS=127.0.0.1:$SPARKLOGS_KAFKA_PORT
  export SPARKLOGS_TEST_ES_URL=http://127.0.0.1:$SPARKLOGS_ES_PORT
fi

echo "npm test: ${#files[@]} test files against Kafka $SPARKLOGS_TEST_KAFKA_BROKERS and Elasticsearch $SPARKLOGS_TEST_ES_URL"
mkdir -p test-artifacts
set +e
node --import tsx --test --test-concurrency="${SPARKLOGS_TEST_CONCURRENCY:-1}" --test-timeout="${SPARKLOGS_TEST_TIMEOUT_MS:-600000}" "${files[@]}"
rc=$?
set -e
exit $rc
