package dev.sparklogs.e2e;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.VoidFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What one task of a phase does on its executor (see {@link SparklogsE2EJob}). */
final class PhaseTask implements VoidFunction<Iterator<Integer>> {

  private static final long serialVersionUID = 1L;
  private static final Logger MARKER = LoggerFactory.getLogger("dev.sparklogs.e2e.Marker");
  private static final Logger LOG = LoggerFactory.getLogger(PhaseTask.class);
  /** A task that was not killed holds its memory this long, then fails. */
  static final long OOM_HOLD_MS = 15_000;
  private static final long OOM_CHUNK = 64L << 20;

  private final String kind;
  private final String appId;
  private final int lines;
  private final long spreadMs;
  private final int oomMib;

  PhaseTask(String kind, String appId, int lines, long spreadMs, int oomMib) {
    this.kind = kind;
    this.appId = appId;
    this.lines = lines;
    this.spreadMs = spreadMs;
    this.oomMib = oomMib;
  }

  @Override
  public void call(Iterator<Integer> ignored) throws Exception {
    TaskContext ctx = TaskContext.get();
    int stage = ctx.stageId();
    int partition = ctx.partitionId();
    int attempt = ctx.attemptNumber();
    String where = "app=" + appId + " stage=" + stage + " partition=" + partition + " attempt=" + attempt;
    for (int i = 1; i <= lines; i++) {
      MARKER.info("sparklogs-marker {} seq={}/{}", where, i, lines);
      if (i % 10 == 0) {
        // A job's own console output, not a log line: the sidecar ships it as stdout.
        System.out.println("sparklogs-stdout " + where + " seq=" + i + "/" + lines);
      }
      if (spreadMs > 0) {
        // The i-th line at i/M of the spread: the task lasts spreadMs in all.
        Thread.sleep(spreadMs * i / lines - spreadMs * (i - 1) / lines);
      }
    }
    if (lines == 0 && spreadMs > 0) {
      Thread.sleep(spreadMs);
    }
    System.err.println("sparklogs-stderr " + where + " seq=" + lines + "/" + lines);
    // Only the first attempt of partition 0 in the stage's first attempt: the
    // retry succeeds, and only one executor is hit.
    boolean chosen = partition == 0 && attempt == 0 && ctx.stageAttemptNumber() == 0;
    if (chosen && kind.equals("fail")) {
      RuntimeException failure = injectedFailure(where);
      // As user code often does before rethrowing: the trace on stderr as well.
      failure.printStackTrace();
      throw failure;
    }
    if (chosen && kind.equals("oom")) {
      exhaustOffHeap(where, oomMib);
    }
  }

  // --- fail: an exception with two nested causes, from a few frames deep -------

  static RuntimeException injectedFailure(String where) {
    try {
      readRecord(where);
      return new IllegalStateException("sparklogs-e2e injected task failure " + where + " (no cause)");
    } catch (IOException e) {
      return new IllegalStateException("sparklogs-e2e injected task failure " + where, e);
    }
  }

  private static void readRecord(String where) throws IOException {
    try {
      parseField("sparklogs-e2e-not-a-number");
    } catch (NumberFormatException e) {
      throw new IOException("sparklogs-e2e injected cause: record unreadable " + where, e);
    }
  }

  private static int parseField(String s) {
    return Integer.parseInt(s);
  }

  // --- oom: off-heap memory the JVM does not limit, every page touched ----------

  /**
   * Allocates mib MiB with sun.misc.Unsafe (outside the heap and outside
   * -XX:MaxDirectMemorySize) in 64 MiB chunks and writes every byte, so the
   * process's resident memory grows until the kernel kills it at the
   * container's limit. If nothing kills it, frees it all after OOM_HOLD_MS and
   * fails the attempt (so a test sees the limit was missing).
   */
  static void exhaustOffHeap(String where, int mib) throws Exception {
    Field f = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
    f.setAccessible(true);
    Object unsafe = f.get(null);
    Method allocate = unsafe.getClass().getMethod("allocateMemory", long.class);
    Method set = unsafe.getClass().getMethod("setMemory", long.class, long.class, byte.class);
    Method free = unsafe.getClass().getMethod("freeMemory", long.class);
    LOG.warn("sparklogs-oom start {} target_mib={}", where, mib);
    List<Long> chunks = new ArrayList<>();
    long target = (long) mib << 20;
    long done = 0;
    try {
      while (done < target) {
        long size = Math.min(OOM_CHUNK, target - done);
        long addr = (Long) allocate.invoke(unsafe, size);
        chunks.add(addr);
        set.invoke(unsafe, addr, size, (byte) 0x5a);
        done += size;
        if ((done >> 20) % 256 == 0 || done == target) {
          LOG.info("sparklogs-oom touched_mib={} {}", done >> 20, where);
        }
      }
      LOG.warn("sparklogs-oom not killed after {} MiB {}: no memory limit below that here", done >> 20, where);
      Thread.sleep(OOM_HOLD_MS);
    } finally {
      for (long addr : chunks) {
        free.invoke(unsafe, addr);
      }
    }
    throw new IllegalStateException("sparklogs-e2e off-heap allocation of " + mib + " MiB was not killed " + where);
  }
}
