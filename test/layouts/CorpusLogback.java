// The logback run of test/layouts/make-corpus: an application that logs with
// slf4j and logback-classic in whatever configuration logback finds (none: its
// own default, BasicConfigurator's TTLLLayout on the console; or a
// logback.xml given with -Dlogback.configurationFile). Beside the console it
// adds a truth appender writing, per event, what logback knew of it as one
// JSON line (the header as the console's layout printed it, epoch ms, level,
// logger, thread, message, the stack trace as printed), which
// test/layouts/check-corpus.ts holds the cutting and parsing of the console's
// output to.
//
//   java -cp 'JARS/*:.' CorpusLogback TRUTH.jsonl
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.Layout;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

public class CorpusLogback {
  static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default: if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
      }
    }
    return b.append('"').toString();
  }

  static void load(int record) throws IOException {
    try {
      Integer.parseInt("seven");
    } catch (NumberFormatException e) {
      throw new IOException("record " + record + " unreadable", e);
    }
  }

  @SuppressWarnings("unchecked")
  public static void main(String[] args) throws Exception {
    org.slf4j.Logger log = LoggerFactory.getLogger("dev.sparklogs.corpus.Job");
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Layout<ILoggingEvent> layout = null;
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
      Appender<ILoggingEvent> a = it.next();
      if (a instanceof ConsoleAppender) layout = ((LayoutWrappingEncoder<ILoggingEvent>) ((ConsoleAppender<ILoggingEvent>) a).getEncoder()).getLayout();
    }
    if (layout == null) throw new IllegalStateException("no console appender with a layout on the root logger");
    final Layout<ILoggingEvent> printed = layout;
    PrintWriter truth = new PrintWriter(new OutputStreamWriter(new FileOutputStream(args[0]), StandardCharsets.UTF_8), true);
    AppenderBase<ILoggingEvent> t = new AppenderBase<ILoggingEvent>() {
      @Override
      protected synchronized void append(ILoggingEvent e) {
        String full = printed.doLayout(e);
        String msg = e.getFormattedMessage();
        int at = full.indexOf(msg);
        String head = full.substring(0, at);
        String trace = full.substring(at + msg.length());
        truth.println("{\"head\":" + json(head) + ",\"ms\":" + e.getTimeStamp() + ",\"level\":" + json(e.getLevel().toString())
            + ",\"logger\":" + json(e.getLoggerName()) + ",\"thread\":" + json(e.getThreadName()) + ",\"msg\":" + json(msg)
            + ",\"trace\":" + json(trace) + "}");
      }
    };
    t.setContext(ctx);
    t.start();
    root.addAppender(t);

    log.info("starting: {} partitions from {}", 3, "/data/in");
    log.debug("options: batch=500, retries=2");
    ExecutorService pool = Executors.newFixedThreadPool(2, r -> {
      Thread th = new Thread(r);
      th.setName("loader-" + th.getId());
      return th;
    });
    org.slf4j.Logger loader = LoggerFactory.getLogger("dev.sparklogs.corpus.Loader");
    for (int p = 0; p < 3; p++) {
      final int part = p;
      pool.submit(() -> {
        loader.info("partition {}: 500 records", part);
        if (part == 1) {
          try {
            load(7);
          } catch (IOException e) {
            IllegalStateException failed = new IllegalStateException("partition 1 failed", e);
            failed.addSuppressed(new IOException("close failed: stream already closed"));
            loader.error("partition {} failed", part, failed);
          }
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(30, TimeUnit.SECONDS);
    log.warn("1 of 3 partitions failed; retrying once");
    log.info("summary:\n  rows=1000\n  failed=500");
    try {
      Object o = null;
      o.hashCode();
    } catch (NullPointerException e) {
      log.error("shutdown hook failed", e);
    }
    log.info("done");
  }
}
