// The Hadoop run of test/layouts/make-corpus: a MapReduce job in Hadoop's
// local mode (LocalJobRunner: the job client, its map tasks and its committer
// in this JVM) over a few records, one of which the mapper cannot read, so
// its task fails with a cause and the job fails. Hadoop logs through log4j 1
// (reload4j, as Hadoop 3.4 ships it) configured by -Dlog4j.configuration:
// make-corpus gives it Hadoop's own layouts (etc/hadoop/log4j.properties'
// console, a YARN container's). Beside them this program adds a truth
// appender per layout writing, per event, what log4j knew of it as one JSON
// line (the header as that layout printed it, epoch ms, level, the logger as
// printed, thread, message, stack trace), which test/layouts/check-corpus.ts
// holds the cutting and parsing of the layout's output to.
//
//   java -cp 'JARS/*:.' -Dlog4j.configuration=file:log4j.properties CorpusHadoop IN OUT APPENDER=TRUTH.jsonl...
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.IntWritable;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.Mapper;
import org.apache.hadoop.mapreduce.lib.input.FileInputFormat;
import org.apache.hadoop.mapreduce.lib.output.FileOutputFormat;
import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Layout;
import org.apache.log4j.LogManager;
import org.apache.log4j.spi.LoggingEvent;

public class CorpusHadoop {
  public static class Parse extends Mapper<LongWritable, Text, Text, IntWritable> {
    @Override
    protected void map(LongWritable key, Text value, Context context) throws IOException, InterruptedException {
      String v = value.toString().trim();
      try {
        context.write(new Text("n"), new IntWritable(Integer.parseInt(v)));
      } catch (NumberFormatException e) {
        throw new IOException("record at offset " + key.get() + " unreadable", e);
      }
    }
  }

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

  /** What log4j knew of each event, beside the appender whose layout printed it. */
  static final class Truth extends AppenderSkeleton {
    private final Layout printed;
    private final PrintWriter out;

    Truth(Layout printed, String file) throws IOException {
      this.printed = printed;
      this.out = new PrintWriter(new OutputStreamWriter(new FileOutputStream(file), StandardCharsets.UTF_8), true);
    }

    @Override
    protected synchronized void append(LoggingEvent e) {
      String full = printed.format(e);
      String msg = e.getRenderedMessage();
      int at = full.indexOf(msg);
      String head = full.substring(0, at);
      // The logger as the layout printed it (%c or %c{2}): the header's last word before ": ".
      String name = head.substring(0, head.length() - 2);
      name = name.substring(name.lastIndexOf(' ') + 1);
      String[] rep = e.getThrowableStrRep();
      String trace = rep == null ? "" : String.join("\n", rep);
      out.println("{\"head\":" + json(head) + ",\"ms\":" + e.getTimeStamp() + ",\"level\":" + json(e.getLevel().toString())
          + ",\"logger\":" + json(name) + ",\"thread\":" + json(e.getThreadName()) + ",\"msg\":" + json(msg)
          + ",\"trace\":" + json(trace) + "}");
    }

    @Override
    public boolean requiresLayout() {
      return false;
    }

    @Override
    public void close() {
      out.close();
    }
  }

  public static void main(String[] args) throws Exception {
    for (int i = 2; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      org.apache.log4j.Appender a = LogManager.getRootLogger().getAppender(kv[0]);
      if (a == null || a.getLayout() == null) throw new IllegalStateException("no appender " + kv[0] + " with a layout on the root logger");
      LogManager.getRootLogger().addAppender(new Truth(a.getLayout(), kv[1]));
    }
    Configuration conf = new Configuration();
    conf.set("mapreduce.framework.name", "local");
    conf.set("fs.defaultFS", "file:///");
    conf.setInt("mapreduce.map.maxattempts", 1);
    Job job = Job.getInstance(conf, "corpus-parse");
    job.setJarByClass(CorpusHadoop.class);
    job.setMapperClass(Parse.class);
    job.setNumReduceTasks(0);
    job.setOutputKeyClass(Text.class);
    job.setOutputValueClass(IntWritable.class);
    FileInputFormat.addInputPath(job, new Path(args[0]));
    FileOutputFormat.setOutputPath(job, new Path(args[1]));
    boolean ok = job.waitForCompletion(true);
    LogManager.getLogger(CorpusHadoop.class).info("job " + job.getJobID() + (ok ? " succeeded" : " failed: " + job.getStatus().getFailureInfo()));
    LogManager.shutdown();
    System.exit(ok ? 0 : 1);
  }
}
