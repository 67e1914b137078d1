// The images cannot be built on this machine (no container engine), so what
// a build would trip over is checked here: every module a service's code
// imports, directly or not, lies in a directory its Dockerfile copies into
// the build stage and into the runtime image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const root = process.cwd();
const IMAGES: Record<string, string> = {
  'collector.Dockerfile': 'collector',
  'aggregator.Dockerfile': 'aggregator',
  'query-api.Dockerfile': 'query-api',
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return e === 'web' ? [] : tsFiles(p);
    return e.endsWith('.ts') ? [p] : [];
  });
}

/** Top-level directories reachable through relative imports from the files of `start`. */
function reachable(start: string): Set<string> {
  const seen = new Set<string>();
  const dirs = new Set<string>([start]);
  const queue = tsFiles(join(root, start));
  while (queue.length) {
    const f = queue.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(f), m[1]!.replace(/\.js$/, '.ts')));
      const top = relative(root, target).split('/')[0]!;
      dirs.add(top);
      try {
        if (statSync(target).isFile()) queue.push(target);
      } catch {
        // a non-TS asset or a directory import: the top directory is what matters
      }
    }
  }
  return dirs;
}

for (const [file, service] of Object.entries(IMAGES)) {
  test(`${file}: copies every directory ${service} imports from`, () => {
    const text = readFileSync(join(root, 'deploy/images', file), 'utf8');
    const sources = new Set([...text.matchAll(/^COPY (?!--from)(\S+) \1$/gm)].map((m) => m[1]!));
    const runtime = new Set([...text.matchAll(/^COPY --from=build \S*\/dist\/(\S+) /gm)].map((m) => m[1]!));
    for (const dir of reachable(service)) {
      assert.ok(sources.has(dir), `${file}: ${service} imports from ${dir}/, which the build stage does not COPY`);
      assert.ok(runtime.has(dir), `${file}: ${service} imports from ${dir}/, whose dist/${dir} the runtime image does not get`);
    }
  });
}
