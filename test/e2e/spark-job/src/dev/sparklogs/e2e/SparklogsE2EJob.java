package dev.sparklogs.e2e;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end-to-end test's Spark application: it writes log lines whose number
 * and place are known exactly, so a test can check that every line each
 * executor wrote reached the store, and provokes what sparklogs must survive
 * (a failing task, an executor killed at its memory limit, executors removed
 * and added by dynamic allocation).
 *
 * <pre>
 * spark-submit --class dev.sparklogs.e2e.SparklogsE2EJob sparklogs-e2e-job.jar PHASE...
 *   markers:P:M[:MS]   a stage of P tasks; each logs M marker lines, spread over MS milliseconds
 *   fail:P:M           as markers, then the first attempt of partition 0 throws an exception
 *                      with two nested causes; Spark retries it and the retry succeeds
 *   oom:P:M:MIB        as markers, then the first attempt of partition 0 allocates and touches
 *                      MIB MiB off-heap: the kernel kills its executor at the container's memory
 *                      limit (exit 137, OOMKilled); Spark retries the task elsewhere. Where no
 *                      limit kills it, the attempt frees the memory after 15 s and fails instead.
 *   sleep:S            the driver idles S seconds (no task runs: dynamic allocation removes
 *                      idle executors, and asks for new ones at the next stage)
 * </pre>
 *
 * Executors log, through slf4j/log4j2 at INFO with logger dev.sparklogs.e2e.Marker:
 * {@code sparklogs-marker app=<appId> stage=<s> partition=<p> attempt=<a> seq=<i>/<M>}
 * (i from 1 to M). The driver logs one line per finished task attempt (logger
 * dev.sparklogs.e2e.TaskLines), see {@link TaskLines}, and its progress
 * (logger dev.sparklogs.e2e.SparklogsE2EJob): {@code sparklogs-job start|done}
 * and {@code sparklogs-phase start|end}.
 *
 * On stdout, not through log4j: every tenth marker of a task
 * ({@code sparklogs-stdout app=... seq=<i>/<M>}) and the driver's
 * {@code sparklogs-stdout driver app=<appId> phase=<index>}; on stderr, each task's
 * {@code sparklogs-stderr app=... seq=<M>/<M>} at its end, and the injected
 * failure's stack trace (printStackTrace) before it is thrown.
 *
 * spark.task.maxFailures defaults to 8 here (Spark's default is 4) unless set:
 * the fail and oom phases each cost their task one attempt.
 */
public final class SparklogsE2EJob {

  private static final Logger LOG = LoggerFactory.getLogger(SparklogsE2EJob.class);

  private SparklogsE2EJob() {}

  static final String USAGE = String.join("\n",
      "usage: SparklogsE2EJob PHASE...",
      "  markers:P:M[:MS]  P tasks, each logs M markers spread over MS ms",
      "  fail:P:M          as markers; attempt 0 of partition 0 then throws (nested causes), its retry succeeds",
      "  oom:P:M:MIB       as markers; attempt 0 of partition 0 then touches MIB MiB off-heap (OOM kill)",
      "  sleep:S           the driver idles S seconds");

  /** One phase of the job, parsed from an argument. */
  static final class Phase {
    final String spec;
    final String kind;
    final int partitions;
    final int lines;
    final long spreadMs;
    final int oomMib;
    final int sleepSeconds;

    Phase(String spec, String kind, int partitions, int lines, long spreadMs, int oomMib, int sleepSeconds) {
      this.spec = spec;
      this.kind = kind;
      this.partitions = partitions;
      this.lines = lines;
      this.spreadMs = spreadMs;
      this.oomMib = oomMib;
      this.sleepSeconds = sleepSeconds;
    }
  }

  static Phase parse(String spec) {
    String[] f = spec.split(":", -1);
    String kind = f[0].toLowerCase(Locale.ROOT);
    switch (kind) {
      case "markers":
        need(spec, f, 3, 4);
        return new Phase(spec, kind, positive(spec, f[1]), nonNegative(spec, f[2]),
            f.length > 3 ? nonNegative(spec, f[3]) : 0, 0, 0);
      case "fail":
        need(spec, f, 3, 3);
        return new Phase(spec, kind, positive(spec, f[1]), nonNegative(spec, f[2]), 0, 0, 0);
      case "oom":
        need(spec, f, 4, 4);
        return new Phase(spec, kind, positive(spec, f[1]), nonNegative(spec, f[2]), 0, positive(spec, f[3]), 0);
      case "sleep":
        need(spec, f, 2, 2);
        return new Phase(spec, kind, 0, 0, 0, 0, nonNegative(spec, f[1]));
      default:
        throw new IllegalArgumentException("unknown phase '" + spec + "'");
    }
  }

  private static void need(String spec, String[] f, int min, int max) {
    if (f.length < min || f.length > max) {
      throw new IllegalArgumentException("phase '" + spec + "' has " + (f.length - 1) + " numbers");
    }
  }

  private static int nonNegative(String spec, String s) {
    try {
      int v = Integer.parseInt(s);
      if (v >= 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("phase '" + spec + "': '" + s + "' is not a number >= 0");
  }

  private static int positive(String spec, String s) {
    int v = nonNegative(spec, s);
    if (v == 0) {
      throw new IllegalArgumentException("phase '" + spec + "': '" + s + "' must be > 0");
    }
    return v;
  }

  public static void main(String[] args) throws Exception {
    List<Phase> phases = new ArrayList<>();
    try {
      if (args.length == 0) {
        throw new IllegalArgumentException("no phase given");
      }
      for (String a : args) {
        phases.add(parse(a));
      }
    } catch (IllegalArgumentException e) {
      System.err.println("sparklogs-e2e-job: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }

    SparkConf conf = new SparkConf()
        .setIfMissing("spark.app.name", "sparklogs-e2e")
        .setIfMissing("spark.task.maxFailures", "8");
    JavaSparkContext jsc = new JavaSparkContext(conf);
    String appId = jsc.sc().applicationId();
    jsc.sc().addSparkListener(new TaskLines());
    LOG.info("sparklogs-job start app={} phases={}", appId, String.join(" ", args));

    int exit = 0;
    try {
      for (int i = 0; i < phases.size(); i++) {
        Phase p = phases.get(i);
        long t0 = System.nanoTime();
        LOG.info("sparklogs-phase start index={} phase={}", i, p.spec);
        System.out.println("sparklogs-stdout driver app=" + appId + " phase=" + i);
        run(jsc, appId, p);
        LOG.info("sparklogs-phase end index={} phase={} ms={}", i, p.spec, (System.nanoTime() - t0) / 1_000_000);
      }
      LOG.info("sparklogs-job done app={} phases={}", appId, phases.size());
    } catch (Exception e) {
      LOG.error("sparklogs-job failed app={}", appId, e);
      exit = 1;
    } finally {
      // Drains the listener bus: every task line is logged before this returns.
      jsc.stop();
    }
    if (exit != 0) {
      System.exit(exit);
    }
  }

  private static void run(JavaSparkContext jsc, String appId, Phase p) throws InterruptedException {
    if (p.kind.equals("sleep")) {
      Thread.sleep(p.sleepSeconds * 1000L);
      return;
    }
    List<Integer> seeds = new ArrayList<>();
    for (int i = 0; i < p.partitions; i++) {
      seeds.add(i);
    }
    jsc.setJobDescription("sparklogs-e2e " + p.spec);
    jsc.parallelize(seeds, p.partitions)
        .foreachPartition(new PhaseTask(p.kind, appId, p.lines, p.spreadMs, p.oomMib));
  }
}
