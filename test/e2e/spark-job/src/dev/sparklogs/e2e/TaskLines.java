package dev.sparklogs.e2e;

import org.apache.spark.ExceptionFailure;
import org.apache.spark.ExecutorLostFailure;
import org.apache.spark.TaskEndReason;
import org.apache.spark.TaskFailedReason;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.TaskInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs on the driver one line per finished task attempt, so a test can
 * cross-check, per executor, the attempts that ran there with the markers it
 * wrote:
 * <pre>
 * sparklogs-task stage=S partition=P attempt=A executor=ID status=SUCCESS|FAILED|KILLED stageAttempt=N task=TID [reason=...]
 * </pre>
 * reason (failed and killed attempts only) is the end of the line: the
 * exception's class and message, or why the executor was lost.
 */
final class TaskLines extends SparkListener {

  private static final Logger LOG = LoggerFactory.getLogger(TaskLines.class);

  @Override
  public void onTaskEnd(SparkListenerTaskEnd end) {
    TaskInfo info = end.taskInfo();
    String status = info.successful() ? "SUCCESS" : info.killed() ? "KILLED" : "FAILED";
    StringBuilder line = new StringBuilder("sparklogs-task")
        .append(" stage=").append(end.stageId())
        .append(" partition=").append(info.partitionId())
        .append(" attempt=").append(info.attemptNumber())
        .append(" executor=").append(info.executorId())
        .append(" status=").append(status)
        .append(" stageAttempt=").append(end.stageAttemptId())
        .append(" task=").append(info.taskId());
    if (!info.successful()) {
      line.append(" reason=").append(reason(end.reason()));
    }
    LOG.info(line.toString());
  }

  static String reason(TaskEndReason r) {
    String s;
    if (r instanceof ExceptionFailure) {
      ExceptionFailure e = (ExceptionFailure) r;
      s = e.className() + ": " + e.description();
    } else if (r instanceof ExecutorLostFailure) {
      ExecutorLostFailure e = (ExecutorLostFailure) r;
      s = "ExecutorLostFailure exitCausedByApp=" + e.exitCausedByApp() + " "
          + (e.reason().isDefined() ? e.reason().get() : "");
    } else if (r instanceof TaskFailedReason) {
      s = ((TaskFailedReason) r).toErrorString();
    } else {
      s = String.valueOf(r);
    }
    s = s.replaceAll("\\s+", " ").trim();
    return s.length() > 400 ? s.substring(0, 400) + "..." : s;
  }
}
