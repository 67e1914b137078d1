# shellcheck shell=bash
# Copies a JVM's stdout and stderr into files the sparklogs sidecar ships,
# keeping them on the container's console (`kubectl logs`). Sourced by the
# images' entrypoints (spark-entrypoint.sh, flink-entrypoint.sh); bash.
#
#   stdio_start OUT_FILE ERR_FILE [console]   start the copiers (before the JVM)
#   "$@" >"$STDIO_OUT" 2>"$STDIO_ERR" &   the JVM's streams go to them
#   stdio_finish                     after the JVM ended: wait for the copies
#
# With `console`, STDIO_CONSOLE is one more FIFO, relayed to the console only
# (the container's stderr), for a log4j appender that must not be copied: the
# JVM opens it by path (SPARKLOGS_CONSOLE), and must also hold it open from its
# start (`9>"$STDIO_CONSOLE"`), so that the relay ends when the JVM does.
# (Not /proc/self/fd/N: a stream that is a socket cannot be opened by path.)
#
# Each stream is read by `tee`, which writes it to the console and to `head
# -c`, which appends at most SPARKLOGS_STDIO_MAX_BYTES (default 64 MiB) per
# file (counting what an earlier run of the container left): the emptyDir
# stays bounded. At the cap the file gets one last line saying so, and the
# stream goes on to the console only. Bytes pass through as they come (no
# line buffering): a print without a newline reaches the file at once.
#
# stdio_finish waits up to SPARKLOGS_STDIO_DRAIN_S (default 10) seconds for
# the copies to end: a process the JVM started and left running (a Python
# worker) may hold the streams open; the copiers are then stopped.

STDIO_PIDS=()
STDIO_TMP=
# The FIFOs the JVM's stdout and stderr go to (set by stdio_start, read by the entrypoint).
STDIO_OUT=''
STDIO_ERR=''
STDIO_CONSOLE=''

# stdio_copy IN OUT_FILE CONSOLE_FD: one stream, from the FIFO IN.
stdio_copy() {
  local in=$1 file=$2 fd=$3 max=$4 mid=$1.file
  mkfifo "$mid" || return 1
  local have left
  have=$(stat -c %s "$file" 2>/dev/null || echo 0)
  left=$((max - have))
  (
    if [ "$left" -le 0 ]; then
      # Full already (the container ran before): open and drop, so tee goes on.
      exec <"$mid"
      exit 0
    fi
    head -c "$left" <"$mid" >>"$file" || true
    written=$(( $(stat -c %s "$file" 2>/dev/null || echo 0) - have ))
    if [ "$written" -ge "$left" ]; then
      printf '\n[sparklogs: %s reached %s bytes (SPARKLOGS_STDIO_MAX_BYTES): the rest is on the container console only]\n' "${file##*/}" "$max" >>"$file"
    fi
  ) &
  local cap=$!
  # -p: a closed pipe (the cap reached) is not an error; tee goes on to the console.
  tee -p "$mid" <"$in" >&"$fd" &
  echo $! >"$in.tee"
  wait $! 2>/dev/null || true
  wait "$cap" 2>/dev/null || true
}

stdio_start() {
  local out=$1 err=$2 console=${3:-} max=${SPARKLOGS_STDIO_MAX_BYTES:-67108864}
  case "$max" in '' | *[!0-9]*) echo "stdio-capture: SPARKLOGS_STDIO_MAX_BYTES must be a number of bytes, got '$max'" >&2; return 1 ;; esac
  local d
  for d in "${out%/*}" "${err%/*}"; do
    mkdir -p "$d" 2>/dev/null || true
    if [ ! -w "$d" ]; then
      echo "stdio-capture: $d is not writable: stdout and stderr stay on the console only" >&2
      return 1
    fi
  done
  STDIO_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sparklogs-stdio.XXXXXX" 2>/dev/null) \
    || STDIO_TMP=$(mktemp -d "${out%/*}/.sparklogs-stdio.XXXXXX") \
    || { echo "stdio-capture: no directory for its FIFOs: stdout and stderr stay on the console only" >&2; return 1; }
  mkfifo "$STDIO_TMP/out" "$STDIO_TMP/err" || return 1
  stdio_copy "$STDIO_TMP/out" "$out" 1 "$max" &
  STDIO_PIDS+=($!)
  stdio_copy "$STDIO_TMP/err" "$err" 2 "$max" &
  STDIO_PIDS+=($!)
  if [ -n "$console" ]; then
    mkfifo "$STDIO_TMP/console" || return 1
    cat <"$STDIO_TMP/console" >&2 &
    STDIO_PIDS+=($!)
    # shellcheck disable=SC2034
    STDIO_CONSOLE=$STDIO_TMP/console
  fi
  # shellcheck disable=SC2034 # read by the sourcing entrypoint
  STDIO_OUT=$STDIO_TMP/out
  # shellcheck disable=SC2034
  STDIO_ERR=$STDIO_TMP/err
}

stdio_finish() {
  local deadline=$((SECONDS + ${SPARKLOGS_STDIO_DRAIN_S:-10})) p t
  for p in "${STDIO_PIDS[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  done
  for p in "${STDIO_PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      echo "stdio-capture: a process still holds stdout or stderr ${SPARKLOGS_STDIO_DRAIN_S:-10} s after the JVM ended; stopping the copy" >&2
      for t in "$STDIO_TMP"/*.tee; do kill "$(cat "$t")" 2>/dev/null || true; done
    fi
    wait "$p" 2>/dev/null || true
  done
  [ -z "$STDIO_TMP" ] || rm -rf "$STDIO_TMP"
}
