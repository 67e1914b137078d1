// The apps' own PatternLayouts, compiled once per pattern text: every batch
// of such an app carries its pattern (src.pattern), and compiling it per batch
// would cost more than parsing the batch. Bounded: a stream of distinct
// patterns (many apps, or a hostile producer) cannot grow memory, it only
// recompiles. A pattern that does not compile (a collector of another
// version, a hand-made record) is reported once and remembered as such: its
// lines are parsed with the built-in layouts, never dropped.
import { compileLayout, PatternError } from '../../contract/pattern-layout.js';
import type { ParseOptions } from './parse-event.js';
import { ZonedClock } from './zoned-time.js';

const MAX_PATTERNS = 256;

export class PatternCache {
  private readonly compiled = new Map<string, ParseOptions | PatternError>();

  constructor(private readonly onInvalid: (err: PatternError) => void = () => undefined) {}

  /** Parse options for a batch's pattern; undefined when there is none or it does not compile. */
  get(pattern: string | undefined): ParseOptions | undefined {
    if (pattern === undefined) return undefined;
    let o = this.compiled.get(pattern);
    if (o === undefined) {
      try {
        const layout = compileLayout(pattern);
        o = layout.zone === undefined ? { layout } : { layout, layoutClock: new ZonedClock(layout.zone) };
      } catch (err) {
        if (!(err instanceof PatternError)) throw err;
        o = err;
        this.onInvalid(err);
      }
      if (this.compiled.size >= MAX_PATTERNS) this.compiled.delete(this.compiled.keys().next().value!);
      this.compiled.set(pattern, o);
    }
    return o instanceof PatternError ? undefined : o;
  }
}
