package dev.sparklogs.e2e.flink;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end-to-end test's Flink job: its TaskManagers write log lines whose
 * number and place are known exactly, and one task fails once and is
 * restarted by Flink's restart strategy.
 *
 * <pre>
 * flink run[-application] ... sparklogs-flink-e2e-job.jar [KEY=VALUE...]
 *   parallelism=P   subtasks of the markers operator (2)
 *   lines=N         marker lines each subtask logs per attempt (100)
 *   spread-ms=MS    over how long a subtask spreads its lines (10000)
 *   fail-at=K       subtask 0's first attempt throws after its K-th marker (0: never);
 *                   restart strategy fixed-delay, 3 attempts, 2 s apart
 *   app=ID          the app id in the marker lines (default: the configuration's
 *                   kubernetes.cluster-id, else "local")
 * </pre>
 *
 * A source (parallelism 1) emits P*N numbers, rebalanced round-robin to the P
 * subtasks of the markers operator: each subtask receives exactly N and logs,
 * at INFO with logger dev.sparklogs.e2e.Marker,
 * {@code sparklogs-marker app=<id> subtask=<s> attempt=<a> seq=<i>/<N>} (i from 1 to N).
 * Printed (System.out, not the log) at every tenth marker: {@code sparklogs-stdout app=...
 * seq=<i>/<N>}; on System.err at a subtask's close: {@code sparklogs-stderr app=... markers=<k>}.
 * The failure restarts every subtask (one pipelined region): attempt 0 of each
 * subtask logs a prefix 1..k of its markers, attempt 1 all N. The job is
 * bounded: it finishes after the last marker (or is cancelled before).
 * The JobManager logs {@code sparklogs-job start|done} (logger
 * dev.sparklogs.e2e.flink.SparklogsFlinkE2EJob); each subtask attempt
 * {@code sparklogs-task open|close} (logger dev.sparklogs.e2e.flink.MarkerTask).
 */
public final class SparklogsFlinkE2EJob {

  private static final Logger LOG = LoggerFactory.getLogger(SparklogsFlinkE2EJob.class);

  private SparklogsFlinkE2EJob() {}

  static final String USAGE = "usage: SparklogsFlinkE2EJob [parallelism=P] [lines=N] [spread-ms=MS] [fail-at=K] [app=ID]";

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new LinkedHashMap<>();
    opts.put("parallelism", "2");
    opts.put("lines", "100");
    opts.put("spread-ms", "10000");
    opts.put("fail-at", "0");
    opts.put("app", "");
    int parallelism;
    int lines;
    long spreadMs;
    int failAt;
    try {
      for (String a : args) {
        int eq = a.indexOf('=');
        if (eq <= 0 || !opts.containsKey(a.substring(0, eq))) {
          throw new IllegalArgumentException("unknown argument '" + a + "'");
        }
        opts.put(a.substring(0, eq), a.substring(eq + 1));
      }
      parallelism = number(opts, "parallelism", 1);
      lines = number(opts, "lines", 1);
      spreadMs = number(opts, "spread-ms", 0);
      failAt = number(opts, "fail-at", 0);
      if (failAt > lines) {
        throw new IllegalArgumentException("fail-at=" + failAt + " is beyond lines=" + lines);
      }
    } catch (IllegalArgumentException e) {
      System.err.println("sparklogs-flink-e2e-job: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }

    Configuration conf = new Configuration();
    conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(2));
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    String appId = opts.get("app");
    if (appId.isEmpty()) {
      appId = env.getConfiguration().toMap().getOrDefault("kubernetes.cluster-id", "local");
    }

    env.fromSequence(1, (long) parallelism * lines).setParallelism(1).name("numbers")
        .rebalance()
        .map(new MarkerTask(appId, lines, spreadMs, failAt)).setParallelism(parallelism).name("markers")
        .sinkTo(new DiscardingSink<>()).setParallelism(parallelism).name("discard");

    LOG.info("sparklogs-job start app={} parallelism={} lines={} spread-ms={} fail-at={}",
        appId, parallelism, lines, spreadMs, failAt);
    JobExecutionResult result = env.execute("sparklogs-flink-e2e " + appId);
    LOG.info("sparklogs-job done app={} job={} ms={}", appId, result.getJobID(), result.getNetRuntime());
  }

  private static int number(Map<String, String> opts, String key, int min) {
    String s = opts.get(key);
    try {
      int v = Integer.parseInt(s);
      if (v >= min) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(key + "=" + s + ": need a whole number >= " + min);
  }
}
