import { existsSync } from 'node:fs';
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
