// Debian's chromium driven by playwright-core, for the page's tests; installed
// with apt when missing and the tests run as root.
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) as root`);
    execSync('apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium', { stdio: 'inherit', timeout: 600_000 });
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
}

/** Where the page's screenshots go (test-artifacts/page/ under the working directory), created, printed once. */
export function screenshotDir(): string {
  const dir = resolve('test-artifacts', 'page');
  mkdirSync(dir, { recursive: true });
  return dir;
}
