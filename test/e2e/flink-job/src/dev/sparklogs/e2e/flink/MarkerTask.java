package dev.sparklogs.e2e.flink;

import java.io.IOException;

import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One subtask of the markers operator (see {@link SparklogsFlinkE2EJob}): logs a
 * numbered marker line per record it receives (exactly {@code lines} per
 * subtask and attempt), spread over {@code spreadMs}; subtask 0's first attempt
 * throws after marker {@code failAt} (0: never).
 */
final class MarkerTask extends RichMapFunction<Long, Long> {

  private static final long serialVersionUID = 1L;
  private static final Logger MARKER = LoggerFactory.getLogger("dev.sparklogs.e2e.Marker");
  private static final Logger LOG = LoggerFactory.getLogger(MarkerTask.class);

  private final String appId;
  private final int lines;
  private final long spreadMs;
  private final int failAt;

  private transient int seq;
  private transient String where;
  private transient boolean chosen;

  MarkerTask(String appId, int lines, long spreadMs, int failAt) {
    this.appId = appId;
    this.lines = lines;
    this.spreadMs = spreadMs;
    this.failAt = failAt;
  }

  @Override
  public void open(OpenContext openContext) {
    TaskInfo info = getRuntimeContext().getTaskInfo();
    int subtask = info.getIndexOfThisSubtask();
    int attempt = info.getAttemptNumber();
    where = "app=" + appId + " subtask=" + subtask + " attempt=" + attempt;
    chosen = subtask == 0 && attempt == 0 && failAt > 0;
    seq = 0;
    LOG.info("sparklogs-task open {} task={}", where, info.getTaskNameWithSubtasks());
  }

  @Override
  public Long map(Long value) throws Exception {
    seq++;
    MARKER.info("sparklogs-marker {} seq={}/{}", where, seq, lines);
    if (seq % 10 == 0) {
      // Printed, not logged: Flink's .out file (env.stdout-err.redirect-to-file) or the console.
      System.out.println("sparklogs-stdout " + where + " seq=" + seq + "/" + lines);
    }
    if (chosen && seq == failAt) {
      throw injectedFailure(where + " seq=" + seq);
    }
    if (spreadMs > 0) {
      // The i-th line at i/N of the spread: a subtask lasts spreadMs in all.
      Thread.sleep(spreadMs * seq / lines - spreadMs * (seq - 1) / lines);
    }
    return value;
  }

  @Override
  public void close() {
    LOG.info("sparklogs-task close {} markers={}", where, seq);
    System.err.println("sparklogs-stderr " + where + " markers=" + seq);
  }

  // --- an exception with two nested causes, from a few frames deep -------------

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
}
