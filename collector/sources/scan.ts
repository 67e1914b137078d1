import { createHash } from 'node:crypto';
import { lstat, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { CollectorError } from '../errors.js';

// Which files the configured paths name right now, by device + inode (stat
// follows symlinks, so a kubelet link whose target changes shows up as a new
// file). Wildcards are allowed in the file name only: a log directory is
// fixed per pod, and a bounded readdir per poll keeps scanning cheap.

export interface Found {
  path: string;
  /** The stream of the first pattern that named it (undefined: the app's log). */
  stream?: 'stdout' | 'stderr';
  dev: string;
  ino: string;
  size: number;
  mtimeMs: number;
}

export interface PathPattern {
  dir: string;
  /** undefined: a literal path. */
  name: RegExp | undefined;
  literal: string;
  /** A whole stream of the app container (stdoutPaths, stderrPaths); undefined: the app's log (paths). */
  stream?: 'stdout' | 'stderr';
}

/** Rotated copies that log4j2 or logrotate compressed: their text was read before it was compressed. */
const COMPRESSED = /\.(?:gz|zip|bz2|xz|zst|lz4|tgz)$/i;

export const fileKey = (dev: string, ino: string) => `${dev}:${ino}`;

/** A glob's file-name part (`*`, `?`, `[..]`, `[!..]`) as an anchored regular expression; undefined when a [ is not closed. */
export function globRegExp(name: string): RegExp | undefined {
  let re = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = name.indexOf(']', i + 1);
      if (end === -1) return undefined;
      re += `[${name.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The patterns of one setting. `stream`: its files are a whole stream of the app container
 * (stdoutPaths, stderrPaths), shipped with src.stream; `setting` names it in errors.
 */
export function compilePatterns(paths: readonly string[], kind: { setting?: string; stream?: 'stdout' | 'stderr' } = {}): PathPattern[] {
  const setting = kind.setting ?? 'paths';
  return paths.map((p) => {
    if (!isAbsolute(p)) throw new CollectorError('PATTERN_INVALID', `${setting}: ${JSON.stringify(p)} is not absolute`);
    const dir = dirname(p);
    if (/[*?[]/.test(dir)) throw new CollectorError('PATTERN_INVALID', `${setting}: ${JSON.stringify(p)}: wildcards are allowed in the file name only`);
    const name = basename(p);
    const stream = kind.stream !== undefined ? { stream: kind.stream } : {};
    if (!/[*?[]/.test(name)) return { dir, name: undefined, literal: p, ...stream };
    const re = globRegExp(name);
    if (!re) throw new CollectorError('PATTERN_INVALID', `${setting}: ${JSON.stringify(p)}: unclosed [`);
    return { dir, name: re, literal: p, ...stream };
  });
}

/** The file at `path`; undefined when there is none; 'dangling' when the name is there but leads to no file (yet). */
async function statFile(path: string, literal = false): Promise<Found | 'dangling' | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    if (!s.isFile()) return undefined;
    return { path, dev: String(s.dev), ino: String(s.ino), size: Number(s.size), mtimeMs: Number(s.mtimeMs) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
    // A listed name that is gone now, or a symlink whose target does not exist (yet): its
    // target's directory is not watched, so only the poll would see it appear. A literal
    // path that is not there at all is fine (its creation is an event of its directory).
    if (!literal) return 'dangling';
    return (await lstat(path).then(() => true, () => false)) ? 'dangling' : undefined;
  }
}

/** A file that patterns of two kinds name (the app's log and a stream, or both streams): read as the first's. */
export interface Overlap {
  path: string;
  kept: PathPattern;
  other: PathPattern;
}

/**
 * Every regular file the patterns match, keyed by device:inode (first path wins; so does the
 * first pattern's kind). `dangling` gets the names that are there but lead to no file now;
 * `overlaps` the files a pattern of another kind matched too.
 */
export async function scan(patterns: readonly PathPattern[], dangling?: string[], overlaps?: Overlap[]): Promise<Map<string, Found>> {
  const by = new Map<string, PathPattern>();
  const out = new Map<string, Found>();
  for (const p of patterns) {
    let paths: string[];
    if (!p.name) paths = [p.literal];
    else {
      const names = await readdir(p.dir).catch(() => [] as string[]);
      paths = names.filter((n) => p.name!.test(n) && !COMPRESSED.test(n)).sort().map((n) => join(p.dir, n));
    }
    for (const path of paths) {
      const f = await statFile(path, !p.name);
      if (f === 'dangling') dangling?.push(path);
      else if (f) {
        const key = fileKey(f.dev, f.ino);
        const first = by.get(key);
        if (first === undefined) {
          if (p.stream !== undefined) f.stream = p.stream;
          out.set(key, f);
          by.set(key, p);
        } else if (first.stream !== p.stream) overlaps?.push({ path, kept: first, other: p });
      }
    }
  }
  return out;
}

/** Whether a path is one the patterns name (compressed siblings never are). */
export function watched(patterns: readonly PathPattern[], path: string): boolean {
  return patterns.some((p) => (p.name ? dirname(path) === p.dir && p.name.test(basename(path)) && !COMPRESSED.test(path) : p.literal === path));
}

/** A file renamed while the collector was down: the same inode under another name in its directory. */
export async function findInDir(dir: string, dev: string, ino: string): Promise<Found | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (COMPRESSED.test(n)) continue;
    const f = await statFile(join(dir, n));
    if (f && f !== 'dangling' && f.dev === dev && f.ino === ino) return f;
  }
  return undefined;
}

export const FINGERPRINT_BYTES = 1024;

/** sha256 of the first `len` bytes, or undefined when the file is shorter now. */
export async function fingerprint(fh: FileHandle, len: number): Promise<string | undefined> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, got);
    if (bytesRead === 0) return undefined;
    got += bytesRead;
  }
  return hashHead(buf);
}

/** The fingerprint of bytes already in hand (the file's first bytes as they were read). */
export function hashHead(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex').slice(0, 32);
}
