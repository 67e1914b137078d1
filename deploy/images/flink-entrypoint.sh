#!/usr/bin/env bash
# The entrypoint of the Flink image (flink.Dockerfile), whose distribution
# (PyPI's apache-flink-libraries, see deploy/local/flink) has none of Flink's
# bin/ scripts: this script starts the JVMs those scripts would, with the same
# configuration directory, log4j configuration, log file, JVM options and
# class path. The image links it as /docker-entrypoint.sh (Flink's default
# kubernetes.entry.path) and, on PATH, as kubernetes-jobmanager.sh,
# kubernetes-taskmanager.sh and flink: Flink's native Kubernetes mode runs
#   /docker-entrypoint.sh bash -c "kubernetes-jobmanager.sh kubernetes-application ARGS"
#   /docker-entrypoint.sh bash -c "kubernetes-taskmanager.sh -D k=v ... ARGS"
# in its JobManager and TaskManager pods. Roles (first argument, or the name
# this script is called by):
#
#   kubernetes-jobmanager.sh kubernetes-application|kubernetes-session [ARGS...]
#       org.apache.flink.kubernetes.entrypoint.KubernetesApplicationClusterEntrypoint
#       (or KubernetesSessionClusterEntrypoint); heap and metaspace from the
#       configuration's jobmanager.memory.* (Flink's BashJavaUtils, as its script).
#   kubernetes-taskmanager.sh [ARGS...]
#       org.apache.flink.kubernetes.taskmanager.KubernetesTaskExecutorRunner; JVM
#       memory options from FLINK_TM_JVM_MEM_OPTS, which Flink sets on the pod.
#   jobmanager [ARGS...]     a standalone session JobManager (StandaloneSessionClusterEntrypoint)
#   taskmanager [ARGS...]    a standalone TaskManager (TaskManagerRunner), memory from
#                            taskmanager.memory.* (BashJavaUtils)
#   flink ARGS...            Flink's command-line client (bin/flink: CliFrontend), e.g.
#                            flink run-application --target kubernetes-application ...
#   anything else            run as given (bash -c ..., java -version).
#
# As Flink's scripts: FLINK_HOME (/opt/flink), FLINK_CONF_DIR ($FLINK_HOME/conf,
# config.yaml), FLINK_LOG_DIR (env.log.dir, else $FLINK_HOME/log), the log file
# $FLINK_LOG_DIR/flink-<ident>-<service>-0-<host>.log (-Dlog.file; ident is
# FLINK_IDENT_STRING, else USER, else flink; host is HOSTNAME, the pod name on
# Kubernetes; the client's is flink-<ident>-client-<host>.log) with
# log4j-console.properties (log4j-cli.properties for the client), JVM options
# env.java.opts.all plus env.java.opts.jobmanager / taskmanager / client
# (FLINK_ENV_JAVA_OPTS, FLINK_ENV_JAVA_OPTS_JM / _TM / _CLI override them),
# JVM_ARGS, and the class path lib/*.jar in name order with flink-dist last,
# then HADOOP_CLASSPATH, HADOOP_CONF_DIR, YARN_CONF_DIR. JAVA_HOME (or
# env.java.home, else the java on PATH). MAX_LOG_FILE_NUMBER: env.log.max.
#
# Signals: as this container's PID 1 the script stays PID 1 and runs the JVM
# as its child, forwarding TERM, INT, HUP, QUIT, USR1 and USR2, and exits with
# its status (137 when the kernel killed it at the memory limit). Elsewhere
# (and under `bash -c`, which is not PID 1) it execs the JVM.
set -euo pipefail

FLINK_HOME=${FLINK_HOME:-/opt/flink}
FLINK_CONF_DIR=${FLINK_CONF_DIR:-$FLINK_HOME/conf}
FLINK_LIB_DIR=${FLINK_LIB_DIR:-$FLINK_HOME/lib}
FLINK_OPT_DIR=${FLINK_OPT_DIR:-$FLINK_HOME/opt}
FLINK_PLUGINS_DIR=${FLINK_PLUGINS_DIR:-$FLINK_HOME/plugins}
FLINK_BIN_DIR=${FLINK_BIN_DIR:-$FLINK_HOME/bin}
export FLINK_HOME FLINK_CONF_DIR FLINK_LIB_DIR FLINK_OPT_DIR FLINK_PLUGINS_DIR FLINK_BIN_DIR

die() { echo "flink-entrypoint: $*" >&2; exit 1; }

# stdio_start/stdio_finish (beside this script in the image): the copies of
# stdout and stderr that env.stdout-err.redirect-to-file asks for.
# shellcheck source=stdio-capture.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/stdio-capture.sh"

# Runs CMD... as this PID 1's child (or execs it when this is not PID 1 and
# nothing is captured). With CAPTURE_OUT and CAPTURE_ERR set, the child's
# stdout and stderr are copied into them (and to the console).
run() {
  local capture=
  if [ -n "${CAPTURE_OUT:-}" ] && stdio_start "$CAPTURE_OUT" "$CAPTURE_ERR"; then
    capture=1
  fi
  if [ $$ -ne 1 ] && [ -z "$capture" ]; then
    exec "$@"
  fi
  if [ -n "$capture" ]; then
    "$@" >"$STDIO_OUT" 2>"$STDIO_ERR" &
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
    # Above 128: the child died of a signal, or a trapped signal interrupted
    # wait while the child still runs.
    if [ "$rc" -gt 128 ] && kill -0 "$child" 2>/dev/null; then
      continue
    fi
    break
  done
  if [ "$rc" -gt 128 ]; then
    local rc2=0
    wait "$child" 2>/dev/null || rc2=$?
    [ "$rc2" -eq 127 ] || rc=$rc2
  fi
  [ -z "$capture" ] || stdio_finish
  exit "$rc"
}

# The configuration as flat "key<TAB>value" lines: config.yaml's nested maps
# (Flink's standard YAML) and flat "a.b.c: v" keys alike; the last one wins.
FLAT_CONF=
load_config() {
  local f="$FLINK_CONF_DIR/config.yaml"
  [ -f "$f" ] || f="$FLINK_CONF_DIR/flink-conf.yaml"
  [ -f "$f" ] || return 0
  FLAT_CONF=$(awk '
    /^[[:space:]]*(#|$)/ { next }
    /^[[:space:]]*- / { next }
    {
      match($0, /^ */); ind = RLENGTH; line = substr($0, ind + 1)
      i = index(line, ":"); if (i == 0) next
      key = substr(line, 1, i - 1); val = substr(line, i + 1)
      sub(/^[ \t]+/, "", val); sub(/[ \t]+#.*$/, "", val); sub(/[ \t]+$/, "", val)
      while (n > 0 && ind <= lvl[n]) n--
      if (val == "") { n++; lvl[n] = ind; name[n] = key; next }
      if (val ~ /^".*"$/ || val ~ /^\047.*\047$/) val = substr(val, 2, length(val) - 2)
      p = ""; for (j = 1; j <= n; j++) p = p name[j] "."
      print p key "\t" val
    }' "$f")
}
config_get() { # KEY DEFAULT
  local v
  v=$(printf '%s\n' "$FLAT_CONF" | awk -F '\t' -v k="$1" '$1 == k { v = $2; found = 1 } END { if (found) print v }')
  if [ -n "$v" ]; then echo "$v"; else echo "${2:-}"; fi
}

setup() {
  load_config
  local jh
  jh=$(config_get env.java.home "${JAVA_HOME:-}")
  if [ -n "$jh" ]; then
    JAVA="$jh/bin/java"
  else
    JAVA=$(command -v java) || die "no java on PATH and JAVA_HOME unset: the image needs a Java 17 runtime."
  fi
  [ -x "$JAVA" ] || die "$JAVA is not executable: set JAVA_HOME to a Java 17 runtime."
  [ -d "$FLINK_LIB_DIR" ] || die "no Flink distribution in $FLINK_HOME (no lib/)."
  FLINK_LOG_DIR=${FLINK_LOG_DIR:-$(config_get env.log.dir "$FLINK_HOME/log")}
  export FLINK_LOG_DIR
  export MAX_LOG_FILE_NUMBER=${MAX_LOG_FILE_NUMBER:-$(config_get env.log.max 10)}
  if [ -z "${FLINK_ENV_JAVA_OPTS:-}" ]; then
    FLINK_ENV_JAVA_OPTS=$(config_get env.java.opts.all "$(config_get env.java.opts "")")
    FLINK_ENV_JAVA_OPTS="-XX:+IgnoreUnrecognizedVMOptions $FLINK_ENV_JAVA_OPTS"
    local spec
    spec=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    # Java 18+ refuses System.setSecurityManager unless allowed (Flink's config.sh does the same).
    if [ "${spec%%.*}" -gt 17 ] 2>/dev/null; then FLINK_ENV_JAVA_OPTS="$FLINK_ENV_JAVA_OPTS -Djava.security.manager=allow"; fi
  fi
  local jar dist=
  FLINK_CLASSPATH=
  while IFS= read -r -d '' jar; do
    case "${jar##*/}" in
      flink-dist*.jar) dist="$dist:$jar" ;;
      *) FLINK_CLASSPATH=${FLINK_CLASSPATH:+$FLINK_CLASSPATH:}$jar ;;
    esac
  done < <(find "$FLINK_LIB_DIR" ! -type d -name '*.jar' -print0 | LC_ALL=C sort -z)
  [ -n "$dist" ] || die "no flink-dist jar in $FLINK_LIB_DIR."
  FLINK_DIST_JAR=${dist#:}
  FLINK_CLASSPATH="$FLINK_CLASSPATH$dist"
  local extra="${HADOOP_CLASSPATH:-}:${HADOOP_CONF_DIR:-}:${YARN_CONF_DIR:-}"
  [ "$extra" = "::" ] || FLINK_CLASSPATH="$FLINK_CLASSPATH:$extra"
  IDENT=${FLINK_IDENT_STRING:-${USER:-flink}}
  HOST=${HOSTNAME:-$(hostname)}
}

# BashJavaUtils COMMAND ARGS...: Flink's memory calculation; sets JVM_PARAMS
# and DYNAMIC_PARAMS (the -D options to hand the entrypoint class).
resource_params() {
  local out utils="$FLINK_BIN_DIR/bash-java-utils.jar"
  [ -f "$utils" ] || die "$utils is missing (the distribution's bin/bash-java-utils.jar)."
  out=$("$JAVA" -Xmx64m -cp "$utils:$FLINK_DIST_JAR" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$FLINK_CONF_DIR" "${@:2}" 2>&1) \
    || { printf '%s\n' "$out" >&2; die "Flink's BashJavaUtils $1 failed (its output is above): check the memory settings."; }
  local results
  results=$(printf '%s\n' "$out" | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p')
  [ "$(printf '%s\n' "$results" | wc -l)" -ge 2 ] || { printf '%s\n' "$out" >&2; die "Flink's BashJavaUtils $1 printed no result (its output is above)."; }
  JVM_PARAMS=$(printf '%s\n' "$results" | head -n 1)
  DYNAMIC_PARAMS=$(printf '%s\n' "$results" | sed -n 2p)
  # Flink's entrypoints log these lines (the memory calculation) at start.
  FLINK_INHERITED_LOGS=$(printf '%s\n' "$out" | grep -v '^BASH_JAVA_UTILS_EXEC_RESULT:' || true)
  export FLINK_INHERITED_LOGS
}

# start SERVICE CLASS EXTRA_JAVA_OPTS ARGS...: the JVM of flink-console.sh.
start() {
  local service=$1 class=$2 role_opts=$3
  shift 3
  mkdir -p "$FLINK_LOG_DIR" 2>/dev/null || true
  [ -w "$FLINK_LOG_DIR" ] || echo "flink-entrypoint: $FLINK_LOG_DIR is not writable: $service logs to the console only" >&2
  local log="$FLINK_LOG_DIR/flink-$IDENT-$service-0-$HOST.log"
  local opts
  # Flink evaluates the options once more (variables such as $HOSTNAME in them).
  opts=$(eval echo "$FLINK_ENV_JAVA_OPTS $role_opts")
  # env.stdout-err.redirect-to-file, as flink-console.sh: stdout and stderr into
  # <log>.out and <log>.err (what the web UI's Stdout tab and the sparklogs
  # sidecar read), the log4j console appender off so that they hold no log
  # line twice. Unlike Flink's script, the console keeps a copy of both.
  local quiet=()
  if [ "$(config_get env.stdout-err.redirect-to-file false)" = true ] && [ -w "$FLINK_LOG_DIR" ]; then
    CAPTURE_OUT=${log%.log}.out
    CAPTURE_ERR=${log%.log}.err
    quiet=(-Dconsole.log.level=OFF)
  fi
  # shellcheck disable=SC2206
  local cmd=("$JAVA" ${JVM_ARGS:-} $opts "${quiet[@]}"
    "-Dlog.file=$log"
    "-Dlog4j.configuration=file:$FLINK_CONF_DIR/log4j-console.properties"
    "-Dlog4j.configurationFile=file:$FLINK_CONF_DIR/log4j-console.properties"
    "-Dlogback.configurationFile=file:$FLINK_CONF_DIR/logback-console.xml"
    -classpath "$FLINK_CLASSPATH" "$class" "$@")
  echo "flink-entrypoint: starting $service as a console application on host $HOST (log: $log)" >&2
  [ -z "${SPARKLOGS_FLINK_DRY_RUN:-}" ] || { printf '%q ' "${cmd[@]}"; echo; exit 0; }
  run "${cmd[@]}"
}

jobmanager() { # SERVICE CLASS ARGS...
  local service=$1 class=$2
  shift 2
  resource_params GET_JM_RESOURCE_PARAMS "$@"
  JVM_ARGS="${JVM_ARGS:-} $JVM_PARAMS"
  local jm_opts=${FLINK_ENV_JAVA_OPTS_JM:-$(config_get env.java.opts.jobmanager "")}
  # shellcheck disable=SC2206
  local dyn=($DYNAMIC_PARAMS)
  start "$service" "$class" "$jm_opts" "${dyn[@]}" "$@"
}

taskmanager() { # SERVICE CLASS ARGS...
  local service=$1 class=$2
  shift 2
  local tm_opts=${FLINK_ENV_JAVA_OPTS_TM:-$(config_get env.java.opts.taskmanager "")}
  # G1 unless the configuration names JVM options (as Flink's scripts).
  if [ -z "$(config_get env.java.opts.all "$(config_get env.java.opts "")")" ] && [ -z "$tm_opts" ]; then
    JVM_ARGS="${JVM_ARGS:-} -XX:+UseG1GC"
  fi
  local dyn=()
  if [ -n "${FLINK_TM_JVM_MEM_OPTS:-}" ]; then
    # Kubernetes: Flink computed the memory and passes the -D options as arguments.
    JVM_ARGS="${JVM_ARGS:-} $FLINK_TM_JVM_MEM_OPTS"
  else
    resource_params GET_TM_RESOURCE_PARAMS "$@"
    JVM_ARGS="${JVM_ARGS:-} $JVM_PARAMS"
    # shellcheck disable=SC2206
    dyn=($DYNAMIC_PARAMS)
  fi
  start "$service" "$class" "$tm_opts" --configDir "$FLINK_CONF_DIR" "${dyn[@]}" "$@"
}

client() {
  mkdir -p "$FLINK_LOG_DIR" 2>/dev/null || true
  local log="$FLINK_LOG_DIR/flink-$IDENT-client-$HOST.log" opts
  opts=$(eval echo "$FLINK_ENV_JAVA_OPTS ${FLINK_ENV_JAVA_OPTS_CLI:-$(config_get env.java.opts.client "")}")
  # shellcheck disable=SC2206
  local cmd=("$JAVA" ${JVM_ARGS:-} $opts
    "-Dlog.file=$log"
    "-Dlog4j.configuration=file:$FLINK_CONF_DIR/log4j-cli.properties"
    "-Dlog4j.configurationFile=file:$FLINK_CONF_DIR/log4j-cli.properties"
    "-Dlogback.configurationFile=file:$FLINK_CONF_DIR/logback.xml"
    -classpath "$FLINK_CLASSPATH" org.apache.flink.client.cli.CliFrontend "$@")
  [ -z "${SPARKLOGS_FLINK_DRY_RUN:-}" ] || { printf '%q ' "${cmd[@]}"; echo; exit 0; }
  run "${cmd[@]}"
}

role=$(basename "$0")
case "$role" in
  kubernetes-jobmanager.sh|kubernetes-taskmanager.sh|flink) ;;
  *) role=${1:-}; [ $# -eq 0 ] || shift ;;
esac

case "$role" in
  kubernetes-jobmanager.sh|kubernetes-jobmanager)
    setup
    case "${1:-}" in
      kubernetes-application) shift; jobmanager kubernetes-application org.apache.flink.kubernetes.entrypoint.KubernetesApplicationClusterEntrypoint "$@" ;;
      kubernetes-session) shift; jobmanager kubernetes-session org.apache.flink.kubernetes.entrypoint.KubernetesSessionClusterEntrypoint "$@" ;;
      *) die "usage: kubernetes-jobmanager.sh kubernetes-application|kubernetes-session [ARGS...] (got '${1:-}')." ;;
    esac
    ;;
  kubernetes-taskmanager.sh|kubernetes-taskmanager)
    setup
    taskmanager kubernetes-taskmanager org.apache.flink.kubernetes.taskmanager.KubernetesTaskExecutorRunner "$@"
    ;;
  jobmanager)
    setup
    jobmanager standalonesession org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$FLINK_CONF_DIR" "$@"
    ;;
  taskmanager)
    setup
    taskmanager taskexecutor org.apache.flink.runtime.taskexecutor.TaskManagerRunner "$@"
    ;;
  flink)
    setup
    client "$@"
    ;;
  '')
    die "no role given: Flink's native Kubernetes mode runs this with bash -c 'kubernetes-jobmanager.sh ...' or 'kubernetes-taskmanager.sh ...'; or give jobmanager, taskmanager, flink ARGS, or a command."
    ;;
  *)
    run "$role" "$@"
    ;;
esac
