import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../contract/log.js';
import { CollectorError } from '../errors.js';
import { checkState, emptyState, type CollectorState } from './state.js';

// One JSON state file, replaced atomically (write a temp file, fsync, rename,
// fsync the directory) so a crash leaves either the old or the new version.
// The generation before is kept beside it: if the current file is torn or
// corrupt anyway (a disk that lied about fsync), start-up falls back to it and
// re-sends a little (same line ids, so nothing shows twice).

export const STATE_FILE = 'state.json';
export const PREVIOUS_FILE = 'state.prev.json';
const TEMP_FILE = 'state.json.tmp';

export interface LoadedState {
  state: CollectorState;
  from: 'current' | 'previous' | 'empty';
}

export class StateFile {
  constructor(
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  async load(): Promise<LoadedState> {
    await mkdir(this.dir, { recursive: true });
    const problems: string[] = [];
    for (const [name, from] of [[STATE_FILE, 'current'], [PREVIOUS_FILE, 'previous']] as const) {
      let text: string;
      try {
        text = await readFile(join(this.dir, name), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new CollectorError('CHECKPOINT_UNREADABLE', `cannot read ${join(this.dir, name)}: ${(err as Error).message}`, { cause: err });
      }
      try {
        const parsed: unknown = JSON.parse(text);
        if (checkState.Check(parsed)) {
          if (from === 'previous') this.log.warn({ event: 'checkpointRecovered', problems }, 'current checkpoint unusable: using the previous generation');
          return { state: parsed, from };
        }
        problems.push(`${name}: ${checkState.Errors(parsed).First()?.message ?? 'invalid'}`);
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}`);
      }
    }
    if (problems.length) {
      // Both generations exist and both are bad: starting empty would re-read
      // every file under new file ids (duplicates), so refuse and say why.
      throw new CollectorError('CHECKPOINT_UNREADABLE', `no valid checkpoint in ${this.dir}: ${problems.join('; ')}`);
    }
    return { state: emptyState(), from: 'empty' };
  }

  /** `text`: the state already serialised (the caller compares it with the last write). */
  async write(state: CollectorState, text = JSON.stringify(state)): Promise<void> {
    const tmp = join(this.dir, TEMP_FILE);
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(join(this.dir, STATE_FILE), join(this.dir, PREVIOUS_FILE)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await rename(tmp, join(this.dir, STATE_FILE));
      const dh = await open(this.dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch (err) {
      throw new CollectorError('CHECKPOINT_WRITE_FAILED', `writing checkpoint ${join(this.dir, STATE_FILE)} failed: ${(err as Error).message}`, { cause: err });
    }
  }
}
