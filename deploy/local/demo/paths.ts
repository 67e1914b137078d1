import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * The compiled programs the demo starts. This module runs both compiled
 * (dist/deploy/local/demo) and from source under tsx (tests), so the
 * repository root is found by its package.json rather than by a fixed depth.
 */
function repoRoot(from: string): string {
  let d = from;
  while (!existsSync(join(d, 'package.json')) || d.endsWith('/dist')) {
    const up = dirname(d);
    if (up === d) throw new Error(`no package.json above ${from}`);
    d = up;
  }
  return d;
}

export const rootDir = repoRoot(import.meta.dirname);
export const distDir = join(rootDir, 'dist');

/** A loopback port nothing listens on right now (for child servers started on "any free port"). */
export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
