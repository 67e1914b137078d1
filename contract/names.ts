// Names of the topics and indices the services share. A prefix lets tests and
// several installations share one Kafka cluster and one Elasticsearch cluster.

export const DEFAULT_PREFIX = 'sparklogs';

export interface Names {
  linesTopic: string;
  deadLetterTopic: string;
  /** Daily line indices: `<prefix>-lines-YYYY.MM.DD` (UTC day of the event). */
  linesIndexPrefix: string;
  linesIndexPattern: string;
  appsIndex: string;
  executorsIndex: string;
  linesTemplate: string;
  summaryTemplate: string;
}

export function names(prefix: string = DEFAULT_PREFIX): Names {
  return Object.freeze({
    linesTopic: `${prefix}.lines`,
    deadLetterTopic: `${prefix}.lines.dlq`,
    linesIndexPrefix: `${prefix}-lines-`,
    linesIndexPattern: `${prefix}-lines-*`,
    appsIndex: `${prefix}-apps`,
    executorsIndex: `${prefix}-executors`,
    linesTemplate: `${prefix}-lines`,
    summaryTemplate: `${prefix}-summary`,
  });
}

export function dailyIndex(n: Names, timeMs: number): string {
  const d = new Date(timeMs);
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${n.linesIndexPrefix}${d.getUTCFullYear()}.${mm}.${dd}`;
}

/** The day an index holds, or undefined for a name that is not a daily line index. */
export function indexDay(n: Names, index: string): Date | undefined {
  if (!index.startsWith(n.linesIndexPrefix)) return undefined;
  const m = /^(\d{4})\.(\d{2})\.(\d{2})$/.exec(index.slice(n.linesIndexPrefix.length));
  if (!m) return undefined;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}
