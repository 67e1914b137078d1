// Readers for the Spark side of deploy/: spark-defaults.conf, log4j2.properties
// and the spark-submit line of deploy/README.md, each parsed the way Spark
// and log4j2 read them (key, whitespace or '=', value; '#' comments).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOY } from './manifests.js';

export const SPARK = join(DEPLOY, 'spark');

function keyValues(text: string, sep: RegExp): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = sep.exec(line);
    if (!m) throw new Error(`cannot read line: ${line}`);
    out.set(line.slice(0, m.index), line.slice(m.index + m[0].length).trim());
  }
  return out;
}

/** spark-defaults.conf: `key<whitespace>value`. */
export const sparkDefaults = () => keyValues(readFileSync(join(SPARK, 'spark-defaults.conf'), 'utf8'), /\s+/);

/** A .properties file: `key = value`. */
export const properties = (file: string) => keyValues(readFileSync(file, 'utf8'), /\s*[=:]\s*/);

export const jobsNamespace = () => sparkDefaults().get('spark.kubernetes.namespace') ?? 'default';

export interface SubmitLine {
  options: Map<string, string>;
  conf: Map<string, string>;
  /** What follows the options: the application jar and its arguments. */
  app: string[];
}

/** The fenced block of deploy/README.md that runs spark-submit, as spark-submit would read its arguments. */
export function readmeSubmitLine(): SubmitLine {
  const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
  const block = /```(?:sh|bash)\n((?:(?!```)[\s\S])*?\bspark-submit\b[\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('deploy/README.md has no spark-submit block');
  const args = block
    .slice(block.indexOf('spark-submit'))
    .replace(/\\\n/g, ' ')
    .split('\n')[0]!
    .match(/'[^']*'|"[^"]*"|\S+/g)!
    .slice(1)
    .map((a) => a.replace(/^(['"])(.*)\1$/, '$2'));
  const options = new Map<string, string>();
  const conf = new Map<string, string>();
  let i = 0;
  for (; i < args.length && args[i]!.startsWith('--'); i += 2) {
    const v = args[i + 1] ?? '';
    if (args[i] === '--conf') conf.set(v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1));
    else options.set(args[i]!, v);
  }
  return { options, conf, app: args.slice(i) };
}
