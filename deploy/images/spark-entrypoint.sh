#!/usr/bin/env bash
# The entrypoint of the Spark image (spark.Dockerfile) for the pods that
# spark-submit --master k8s://... creates. Spark sets only the container's
# arguments; this script turns them into the JVM's command line.
#
#   driver ARGS...   the driver pod: spark-submit in client mode inside the pod,
#                    ARGS as Spark's KubernetesDriverBuilder gives them
#                    (--properties-file /opt/spark/conf/spark.properties --class C
#                    spark-internal|JAR APP-ARGS...). Spark's launcher builds the
#                    JVM's command line from them, so spark.driver.memory,
#                    spark.driver.extraJavaOptions and extraClassPath in the
#                    properties file apply, with the options Java 17 needs.
#                    Env: SPARK_DRIVER_BIND_ADDRESS (the pod's IP), SPARK_CONF_DIR.
#   executor         an executor pod, configured by the environment Spark's
#                    BasicExecutorFeatureStep sets: SPARK_DRIVER_URL, SPARK_EXECUTOR_ID,
#                    SPARK_EXECUTOR_CORES, SPARK_EXECUTOR_MEMORY (-Xms and -Xmx),
#                    SPARK_APPLICATION_ID, SPARK_EXECUTOR_POD_IP, SPARK_EXECUTOR_POD_NAME,
#                    SPARK_RESOURCE_PROFILE_ID, SPARK_JAVA_OPT_0..N (the JVM options,
#                    spark.executor.extraJavaOptions first, in index order),
#                    SPARK_CLASSPATH (spark.executor.extraClassPath), SPARK_CONF_DIR.
#   anything else    run as given (e.g. bash, or java -version).
#
# Also honoured: JAVA_HOME (else the java on PATH), HADOOP_CONF_DIR and
# SPARK_EXTRA_CLASSPATH (added to the class path), SPARK_DIST_CLASSPATH (appended).
#
# SPARKLOGS_STDIO_DIR: copy the JVM's stdout and stderr into $dir/stdout and
# $dir/stderr as well as the console (stdio-capture.sh; at most
# SPARKLOGS_STDIO_MAX_BYTES each), for the sparklogs sidecar to ship.
#
# Signals: when this script is the container's PID 1 it stays PID 1 and runs
# the JVM as its child, forwarding TERM, INT, HUP, QUIT, USR1 and USR2 to it
# (a JVM that is PID 1 gets no default signal handling from the kernel, and no
# one would reap the processes it starts), and exits with the JVM's status:
# 137 when the kernel killed it at the container's memory limit. Elsewhere it
# execs the JVM, which then gets every signal directly.
set -euo pipefail

SPARK_HOME=${SPARK_HOME:-/opt/spark}
export SPARK_HOME

die() { echo "spark-entrypoint: $*" >&2; exit 1; }

# stdio_start/stdio_finish: the JVM's stdout and stderr copied into files for
# the sparklogs sidecar when SPARKLOGS_STDIO_DIR is set (the pod templates set
# it), e.g. a job's println. Beside this script in the image.
# shellcheck source=stdio-capture.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/stdio-capture.sh"

# An arbitrary uid (runAsUser) needs a passwd entry: Hadoop's login code,
# which Spark runs, fails with "invalid null input: name" without one.
if ! getent passwd "$(id -u)" >/dev/null 2>&1; then
  if [ -w /etc/passwd ]; then
    echo "$(id -u):x:$(id -u):$(id -g):${SPARK_USER_NAME:-anonymous uid}:$SPARK_HOME/work-dir:/bin/false" >>/etc/passwd
  else
    echo "spark-entrypoint: uid $(id -u) has no passwd entry and /etc/passwd is read-only; Spark may fail to log in as it" >&2
  fi
fi

if [ -z "${JAVA_HOME:-}" ]; then
  java_bin=$(command -v java) || die "no java on PATH and JAVA_HOME unset: the base image must hold a Java 17+ runtime."
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$java_bin")")")
fi
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
[ -x "$JAVA" ] || die "$JAVA is not executable: set JAVA_HOME to a Java 17+ runtime."

core=$(cd "$SPARK_HOME/jars" 2>/dev/null && ls spark-core_*.jar 2>/dev/null | head -n 1) \
  || die "no Spark jars in $SPARK_HOME/jars."
[ -n "$core" ] || die "no spark-core jar in $SPARK_HOME/jars."
core=${core#spark-core_}
# Spark's launcher needs it (a distribution's bin/ scripts would set it).
export SPARK_SCALA_VERSION=${core%%-*}

conf_dir=${SPARK_CONF_DIR:-$SPARK_HOME/conf}

# Runs CMD... as this PID 1's child (or execs it when this is not PID 1 and
# nothing is captured).
run() {
  echo "spark-entrypoint: $*" >&2
  local capture=
  if [ -n "${SPARKLOGS_STDIO_DIR:-}" ] && stdio_start "$SPARKLOGS_STDIO_DIR/stdout" "$SPARKLOGS_STDIO_DIR/stderr" console; then
    capture=1
  fi
  if [ $$ -ne 1 ] && [ -z "$capture" ]; then
    exec "$@"
  fi
  if [ -n "$capture" ]; then
    # log4j2.properties' console appender writes to SPARKLOGS_CONSOLE: relayed
    # to the container's own stderr, so log lines are not copied as stderr.
    SPARKLOGS_CONSOLE=$STDIO_CONSOLE "$@" 9>"$STDIO_CONSOLE" >"$STDIO_OUT" 2>"$STDIO_ERR" &
  else
    "$@" &
  fi
  local child=$! rc sig
  for sig in TERM INT HUP QUIT USR1 USR2; do
    # shellcheck disable=SC2064
    trap "kill -$sig $child 2>/dev/null || true" "$sig"
  done
  while :; do
    rc=0
    wait "$child" || rc=$?
    # Above 128 is either the child's death by a signal or a trapped signal
    # interrupting wait; in the second case the child still runs.
    if [ "$rc" -gt 128 ] && kill -0 "$child" 2>/dev/null; then
      continue
    fi
    break
  done
  if [ "$rc" -gt 128 ]; then
    # The child ended while wait was interrupted: its own status, if known.
    local rc2=0
    wait "$child" 2>/dev/null || rc2=$?
    [ "$rc2" -eq 127 ] || rc=$rc2
  fi
  [ -z "$capture" ] || stdio_finish
  exit "$rc"
}

# The launcher prints "\0\n", then the command with each argument followed by "\0".
launch() {
  local out parts=()
  out=$(mktemp)
  "$JAVA" -Xmx128m -cp "$SPARK_HOME/jars/*" org.apache.spark.launcher.Main "$@" >"$out" \
    || { rm -f "$out"; die "Spark's launcher failed (its error is above)."; }
  mapfile -d '' -t parts <"$out"
  rm -f "$out"
  if [ "${#parts[@]}" -ge 2 ] && [[ "${parts[1]}" == $'\n'* ]]; then
    [ -z "${parts[0]}" ] || printf '%s\n' "${parts[0]}" >&2
    parts[1]=${parts[1]#$'\n'}
    parts=("${parts[@]:1}")
  fi
  [ "${#parts[@]}" -gt 0 ] && [ "${parts[0]}" != "usage 1" ] || die "spark-submit could not parse the driver's arguments: $*"
  LAUNCH_CMD=("${parts[@]}")
}

case "${1:-}" in
  driver)
    shift
    submit=(--deploy-mode client)
    if [ -n "${SPARK_DRIVER_BIND_ADDRESS:-}" ]; then
      submit+=(--conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS"
               --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS")
    fi
    SPARK_CONF_DIR=$conf_dir launch org.apache.spark.deploy.SparkSubmit "${submit[@]}" "$@"
    export SPARK_CONF_DIR=$conf_dir
    run "${LAUNCH_CMD[@]}"
    ;;
  executor)
    shift
    for v in SPARK_DRIVER_URL SPARK_EXECUTOR_ID SPARK_EXECUTOR_CORES SPARK_EXECUTOR_MEMORY SPARK_APPLICATION_ID SPARK_EXECUTOR_POD_IP; do
      [ -n "${!v:-}" ] || die "$v is not set: the executor role is configured by the environment Spark's Kubernetes scheduler gives executor pods."
    done
    # SPARK_JAVA_OPT_<n> in numeric order (a plain sort puts 10 before 2).
    java_opts=()
    while IFS= read -r name; do
      java_opts+=("${!name}")
    done < <(compgen -e | sed -n 's/^SPARK_JAVA_OPT_\([0-9][0-9]*\)$/\1 &/p' | sort -n | cut -d' ' -f2)
    cp="$conf_dir"
    [ -z "${HADOOP_CONF_DIR:-}" ] || cp="$cp:$HADOOP_CONF_DIR"
    [ -z "${SPARK_CLASSPATH:-}" ] || cp="$cp:$SPARK_CLASSPATH"
    # slf4j-api first, as Spark's launcher orders it: no other jar's copy shadows it.
    for j in "$SPARK_HOME"/jars/slf4j-api-*.jar; do [ ! -f "$j" ] || cp="$cp:$j"; done
    cp="$cp:$SPARK_HOME/jars/*"
    [ -z "${SPARK_EXTRA_CLASSPATH:-}" ] || cp="$cp:$SPARK_EXTRA_CLASSPATH"
    [ -z "${SPARK_DIST_CLASSPATH:-}" ] || cp="$cp:$SPARK_DIST_CLASSPATH"
    # Files and jars the executor fetches land in its working directory.
    cp="$cp:$PWD"
    cmd=("$JAVA" "${java_opts[@]}"
      "-Xms$SPARK_EXECUTOR_MEMORY" "-Xmx$SPARK_EXECUTOR_MEMORY"
      -cp "$cp"
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend
      --driver-url "$SPARK_DRIVER_URL"
      --executor-id "$SPARK_EXECUTOR_ID"
      --cores "$SPARK_EXECUTOR_CORES"
      --app-id "$SPARK_APPLICATION_ID"
      --hostname "$SPARK_EXECUTOR_POD_IP"
      --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}")
    [ -z "${SPARK_EXECUTOR_POD_NAME:-}" ] || cmd+=(--podName "$SPARK_EXECUTOR_POD_NAME")
    run "${cmd[@]}"
    ;;
  '')
    die "no role given: the container's arguments must be 'driver ...' or 'executor' (spark-submit sets them), or a command to run."
    ;;
  *)
    run "$@"
    ;;
esac
