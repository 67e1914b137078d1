"""The PySpark driver of test/layouts/make-corpus (run `pyspark-4`): a real
PySpark program whose stderr mixes what a PySpark driver's log holds.

  python corpus-pyspark.py TRUTH_FILE

- Python `logging` in its default format (`LEVEL:logger:message`, no time),
  among them `logging.exception`'s line with the traceback it prints;
- the driver JVM's log4j lines (Spark's layout, from the log4j2 configuration
  make-corpus passes in spark.driver.extraJavaOptions);
- a stage whose task needs more heap than its executor has:
  java.lang.OutOfMemoryError: Java heap space in the executor, which exits;
  the job fails and the driver logs it;
- at the end an uncaught, chained ValueError: Python prints
  `Traceback (most recent call last):` ... `ValueError: ...` and exits 1.

Python's own truth about each of its events goes to TRUTH_FILE, one JSON
object a line, written by a second logging handler (and by sys.excepthook for
the uncaught traceback), so make-corpus's test holds the cutting of stderr to
what Python knew, as log4j's second appender does for the JVM's lines.
"""
import json
import logging
import os
import sys
import traceback

from pyspark.sql import SparkSession

truth = open(sys.argv[1], "a", encoding="utf-8")


def write_truth(obj):
    truth.write(json.dumps(obj) + "\n")
    truth.flush()


class Truth(logging.Handler):
    """Python's own view of each event: what the default format printed."""

    def emit(self, record):
        trace = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n") if record.exc_info else ""
        kind = record.exc_info[0] if record.exc_info else None
        write_truth({
            "head": f"{record.levelname}:{record.name}:",
            "ms": int(record.created * 1000),
            "timeless": True,
            "level": record.levelname,
            "logger": record.name,
            "thread": record.threadName,
            "msg": record.getMessage(),
            "trace": trace,
            **({"exception": name_of(kind)} if kind else {}),
        })


def name_of(kind):
    """The exception's name as Python prints it at the end of a traceback."""
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def excepthook(kind, value, tb):
    text = "".join(traceback.format_exception(kind, value, tb)).rstrip("\n")
    write_truth({"text": text, "timeless": True, "level": "ERROR", "exception": name_of(kind)})
    sys.__excepthook__(kind, value, tb)


logging.basicConfig(level=logging.INFO)  # Python's default format, to stderr
logging.getLogger().addHandler(Truth())
sys.excepthook = excepthook
log = logging.getLogger("corpus.driver")

log4j, log4j_driver = os.environ["CORPUS_LOG4J2"], os.environ["CORPUS_LOG4J2_DRIVER"]
log.info("starting Spark (local-cluster, one executor of 512 MiB)")
spark = (
    SparkSession.builder.master("local-cluster[1,1,1024]")
    .appName("sparklogs-corpus-pyspark")
    .config("spark.executor.memory", "512m")
    .config("spark.task.maxFailures", "1")
    .config("spark.ui.enabled", "false")
    .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j_driver}")
    .config("spark.executor.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j}")
    .getOrCreate()
)
total = spark.range(0, 1000, numPartitions=2).selectExpr("sum(id) as s").collect()[0]["s"]
log.info("sum of 0..999 = %d", total)
log.warning("next: a task that needs more heap than its executor has")
try:
    # repeat() of a non-constant count: evaluated by the executor, not folded by the driver.
    spark.range(1, numPartitions=1).selectExpr("length(repeat('x', cast(id + 800000000 as int))) as n").collect()
    log.error("the task did not run out of memory")
except Exception:  # noqa: BLE001 - the point: log what the job's failure looks like
    log.exception("the job with the big task failed")
log.info("the executor that ran out of memory is replaced; stopping")
spark.stop()
log.info("stopped")


def parse(record):
    return int(record["value"])


try:
    parse({"id": 7, "value": "seven"})
except ValueError as e:
    raise ValueError("record 7 of the corpus job is not a number") from e
