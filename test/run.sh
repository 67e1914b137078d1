#!/usr/bin/env bash
# npm test: install what is missing, build, bring up a test stack (its own
# ports and directory, so a developer's running stack is never touched), run
# every test, and bring the test stack down again, also on failure or Ctrl-C.
#
#   npm test                      every test
#   npm test -- test/x.test.ts    some tests
#   SPARKLOGS_TEST_KEEP_STACK=1   leave the test stack running for the next run
#   SPARKLOGS_TEST_KAFKA_BROKERS + SPARKLOGS_TEST_ES_URL   use an existing stack instead
#
# The tests under test/kube/ run last, on a real Kubernetes node
# (deploy/local/kube) with the project's images and real Spark: the node is
# brought up once for all of them after the other tests (so its load does not
# overlap theirs) and down again at the end, when this run started it; `down`
# must leave nothing behind. They need root. SPARKLOGS_TEST_KUBE=0 skips them
# (said in the summary), e.g. on a machine without root.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi

# Every process below (npm ci itself, tsc, the tests, all they start) runs on the pinned Node.js.
PATH="$(bash deploy/local/node bin-dir):$PATH"
export PATH
hash -r
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "npm test: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
# npm scripts and npx put node_modules/.bin first on PATH: the pinned node is found there too.
bash deploy/local/node link
if [ $build = 1 ]; then
  echo "npm test: building (tsc)"
  npx tsc -p tsconfig.json
fi

if [ $# -gt 0 ]; then all=("$@"); else mapfile -t all < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort); fi
files=(); kube_files=()
for f in "${all[@]}"; do
  case "$f" in
    test/kube/*|./test/kube/*) kube_files+=("$f") ;;
    *) files+=("$f") ;;
  esac
done
if [ ${#kube_files[@]} -gt 0 ] && [ "${SPARKLOGS_TEST_KUBE:-1}" = 0 ]; then
  echo "npm test: SPARKLOGS_TEST_KUBE=0: skipping ${#kube_files[@]} real-cluster test files"
  kube_files=()
fi
if [ ${#kube_files[@]} -gt 0 ] && [ "$(id -u)" != 0 ]; then
  echo "npm test: the real-cluster tests (test/kube/) need root for a Kubernetes node: run as root, or set SPARKLOGS_TEST_KUBE=0 to skip them." >&2
  exit 1
fi

managed=0
if [ -z "${SPARKLOGS_TEST_KAFKA_BROKERS:-}" ] || [ -z "${SPARKLOGS_TEST_ES_URL:-}" ]; then
  if [ "$(id -u)" = 0 ]; then home=${SPARKLOGS_HOME:-/var/lib/sparklogs}; else home=${SPARKLOGS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/sparklogs}; fi
  export SPARKLOGS_HOME=$home
  export SPARKLOGS_STACK_DIR=${SPARKLOGS_TEST_STACK_DIR:-$home/test-stack}
  export SPARKLOGS_KAFKA_PORT=${SPARKLOGS_TEST_KAFKA_PORT:-19092}
  export SPARKLOGS_ES_PORT=${SPARKLOGS_TEST_ES_PORT:-19200}
  managed=1
  stop_stack() {
    stop_kube
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
  if [ ${#kube_files[@]} -gt 0 ]; then
    # Pods reach the stack on the node's address, on a second Kafka listener.
    node_ip=$(bash deploy/local/kube env | sed -n 's/^NODE_IP=//p')
    export SPARKLOGS_STACK_CLUSTER_ADDR=$node_ip
    if ! grep -qs "CLUSTER://$node_ip:" "$SPARKLOGS_STACK_DIR/kafka/server.properties"; then
      bash deploy/local/stack down >/dev/null 2>&1 || true
    fi
  fi
  if ! bash deploy/local/stack status >/dev/null 2>&1; then
    # A test stack that is not healthy is thrown away: each run starts clean.
    bash deploy/local/stack down >/dev/null 2>&1 || true
    rm -rf "$SPARKLOGS_STACK_DIR"
  fi
  bash deploy/local/stack up
  export SPARKLOGS_TEST_KAFKA_BROKERS=127.0.0.1:$SPARKLOGS_KAFKA_PORT
  export SPARKLOGS_TEST_ES_URL=http://127.0.0.1:$SPARKLOGS_ES_PORT
  if [ ${#kube_files[@]} -gt 0 ]; then
    eval "$(bash deploy/local/stack env | sed -n 's/^KAFKA_CLUSTER_BROKERS=/export SPARKLOGS_TEST_KAFKA_CLUSTER_BROKERS=/p; s/^ELASTICSEARCH_CLUSTER_URL=/export SPARKLOGS_TEST_ES_CLUSTER_URL=/p')"
  fi
fi

kube_started=0
stop_kube() {
  [ $kube_started = 1 ] || return 0
  kube_started=0
  if [ "${SPARKLOGS_TEST_KEEP_KUBE:-0}" = 1 ]; then return 0; fi
  bash deploy/local/kube down || true
  # `down` must leave no process, mount, cgroup, iptables chain or bridge behind.
  local left
  left=$(bash deploy/local/kube leftovers)
  if [ -n "$left" ]; then
    echo "npm test: the Kubernetes node left this behind after 'down':" >&2
    echo "$left" >&2
    exit 1
  fi
}
if [ $managed = 0 ]; then trap stop_kube EXIT; fi

# Everything the real-cluster tests use, built or fetched once into the cache.
prepare_kube() {
  if ! bash deploy/local/kube status >/dev/null 2>&1; then kube_started=1; fi
  bash deploy/local/kube up
  bash deploy/local/images build
  bash test/kube/prepare.sh
  eval "$(bash deploy/local/kube env | sed -n 's/^KUBECONFIG=/export SPARKLOGS_TEST_KUBECONFIG=/p; s/^KUBECTL=/export SPARKLOGS_TEST_KUBECTL=/p; s/^NODE_IP=/export SPARKLOGS_TEST_NODE_IP=/p; s/^CONTAINERD=/export SPARKLOGS_TEST_CONTAINERD=/p')"
}

run_tests() {
  # TAP on stdout whatever the runtime (Node 23 and newer default to the spec reporter): CI reads it.
  node --import tsx --test --test-reporter=tap --test-concurrency="${SPARKLOGS_TEST_CONCURRENCY:-1}" --test-timeout="${SPARKLOGS_TEST_TIMEOUT_MS:-600000}" "$@"
}

mkdir -p test-artifacts
rc=0
if [ ${#files[@]} -gt 0 ]; then
  echo "npm test: ${#files[@]} test files against Kafka $SPARKLOGS_TEST_KAFKA_BROKERS and Elasticsearch $SPARKLOGS_TEST_ES_URL"
  set +e; run_tests "${files[@]}"; rc=$?; set -e
fi
if [ ${#kube_files[@]} -gt 0 ]; then
  t0=$SECONDS
  echo "npm test: preparing the Kubernetes node, images and Spark for ${#kube_files[@]} real-cluster test files"
  prepare_kube
  echo "npm test: prepared in $((SECONDS - t0))s; ${#kube_files[@]} real-cluster test files"
  set +e; run_tests "${kube_files[@]}"; krc=$?; set -e
  [ $rc != 0 ] || rc=$krc
  stop_kube
fi
exit $rc
