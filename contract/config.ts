import { Kind, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseArgs } from 'node:util';

// Every service parses its settings the same way: flags and environment
// variables -> one TypeBox schema -> a frozen object. A bad value stops
// start-up with `key (--flag, ENV): what was expected` and changes nothing.
//
// Per-option metadata on the schema: `env` (extra variable names read after
// the prefixed one, e.g. SPARK_APPLICATION_ID), `secret` (never echoed).

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  argv: string[];
  env: Record<string, string | undefined>;
  /** SPARKLOGS_ for every service */
  envPrefix: string;
}

export type Loaded<T extends TObject> = { help: true; text: string } | { help: false; config: Readonly<Static<T>>; positionals: string[] };

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** The variables an option is read from, in order: the prefixed name, then its `env` aliases. */
export function envNames(prefix: string, key: string, s: TSchema): string[] {
  const extra = (s as { env?: string[] }).env ?? [];
  return [`${prefix}${snake(key)}`, ...extra];
}

function fromString(s: TSchema, raw: string): unknown {
  if (s[Kind] === 'Array') return raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (s[Kind] === 'Integer' || s[Kind] === 'Number') {
    // Not a number: keep the text, so the error shows what was typed (NaN would print as null).
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (s[Kind] === 'Boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
    return raw;
  }
  return raw;
}

function expected(s: TSchema): string {
  const parts: string[] = [];
  if (s[Kind] === 'Union') parts.push(`one of ${(s as unknown as { anyOf: { const?: unknown }[] }).anyOf.map((x) => JSON.stringify(x.const)).join(', ')}`);
  else if (s[Kind] === 'Integer') parts.push('a whole number');
  else if (s[Kind] === 'Number') parts.push('a number');
  else if (s[Kind] === 'Boolean') parts.push('true or false');
  else if (s[Kind] === 'Array') parts.push('a comma-separated list');
  else parts.push('a string');
  const r = s as { minimum?: number; maximum?: number; minLength?: number; pattern?: string };
  if (r.minimum !== undefined) parts.push(`>= ${r.minimum}`);
  if (r.maximum !== undefined) parts.push(`<= ${r.maximum}`);
  if (r.minLength) parts.push(`not empty`);
  if (r.pattern) parts.push(`matching ${r.pattern}`);
  return parts.join(', ');
}

export function helpText(program: string, schema: TObject, envPrefix: string, usage = ''): string {
  const lines = [`usage: ${program} [options]${usage}`, '', 'Every option can also be set by its environment variable.', ''];
  for (const [key, s] of Object.entries(schema.properties)) {
    const dflt = s.default !== undefined ? ` (default: ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})` : '';
    lines.push(`  --${kebab(key)}  [${envNames(envPrefix, key, s).join(', ')}]${dflt}`);
    lines.push(`      ${s.description ?? ''} Expects ${expected(s)}.`);
  }
  lines.push('  --help  print this and exit');
  return lines.join('\n');
}

export function loadConfig<T extends TObject>(program: string, schema: T, o: LoadOptions, usage = ''): Loaded<T> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [key, s] of Object.entries(schema.properties)) {
    options[kebab(key)] = { type: s[Kind] === 'Boolean' ? 'boolean' : 'string' };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: o.argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ConfigError([`${(err as Error).message.split('\n')[0]} (see --help)`]);
  }
  if (parsed.values.help) return { help: true, text: helpText(program, schema, o.envPrefix, usage) };

  const raw: Record<string, unknown> = {};
  const where: Record<string, string> = {};
  for (const [key, s] of Object.entries(schema.properties)) {
    const flag = parsed.values[kebab(key)];
    if (flag !== undefined) {
      raw[key] = typeof flag === 'string' ? fromString(s, flag) : flag;
      where[key] = `--${kebab(key)}`;
      continue;
    }
    for (const name of envNames(o.envPrefix, key, s)) {
      const v = o.env[name];
      if (v !== undefined && v !== '') {
        raw[key] = fromString(s, v);
        where[key] = name;
        break;
      }
    }
  }
  const withDefaults = Value.Default(schema, raw) as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, s] of Object.entries(schema.properties)) {
    const v = withDefaults[key];
    const names = `${key} (--${kebab(key)}, ${envNames(o.envPrefix, key, s).join(' or ')})`;
    if (v === undefined) {
      if (schema.required?.includes(key)) problems.push(`${names}: required, not set. Expected ${expected(s)}.`);
      continue;
    }
    if (!Value.Check(s, v)) {
      const shown = (s as { secret?: boolean }).secret ? '<secret>' : JSON.stringify(v);
      problems.push(`${names}: expected ${expected(s)}, got ${shown} from ${where[key] ?? 'default'}.`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return { help: false, config: Object.freeze(withDefaults) as Readonly<Static<T>>, positionals: parsed.positionals };
}
