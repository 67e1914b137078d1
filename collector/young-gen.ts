import { setFlagsFromString } from 'node:v8';

// V8's young generation starts at 1 MiB per semi-space and doubles (up to
// 16 MiB) whenever enough objects survived scavenges since it last grew; it
// seldom shrinks while anything allocates. Loading the modules and a minute
// at 1,000 lines/s are enough to grow it to its maximum: 32 MiB of RSS that a
// sidecar at a low rate never needs. Full speed (catching up) does need it:
// with 1 MiB semi-spaces scavenges cost 15-40% more CPU. So the collector
// holds the young generation at its initial size while it reads little and
// lets V8 grow it while it reads fast. The growth factor is read by V8 at
// every growth, so setting it at run time takes effect (--max-semi-space-size
// cannot change after start-up). Imported first by main.ts: the modules it
// loads must not grow the young generation either.

const HOLD = '--semi-space-growth-factor=1';
const GROW = '--semi-space-growth-factor=2'; // V8's default

/** Reading at least this fast (about 5,000 Spark lines/s) lets the young generation grow. */
export const FAST_BYTES_PER_SEC = 1 << 20;
/** Back below the rate for this long: hold it again. */
export const HOLD_AFTER_MS = 10_000;
const WINDOW_MS = 1000;

setFlagsFromString(HOLD);

export class YoungGenPolicy {
  private windowStart: number;
  private windowBytes = 0;
  private lastFast = -Infinity;
  growing = false;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly setFlags: (flags: string) => void = setFlagsFromString,
  ) {
    this.windowStart = now();
  }

  /** After every round: the bytes it read. */
  observe(bytesRead: number): void {
    this.windowBytes += bytesRead;
    const now = this.now();
    const elapsed = now - this.windowStart;
    if (elapsed < WINDOW_MS) return;
    if ((this.windowBytes * 1000) / elapsed >= FAST_BYTES_PER_SEC) this.lastFast = now;
    this.windowStart = now;
    this.windowBytes = 0;
    const fast = now - this.lastFast < HOLD_AFTER_MS;
    if (fast !== this.growing) {
      this.growing = fast;
      this.setFlags(fast ? GROW : HOLD);
    }
  }
}
