import { spawn } from 'node:child_process';

export interface Finished {
  code: number | null;
  out: string;
  err: string;
}

/**
 * Runs a command to its end (or SIGKILL after timeoutMs) and returns its exit code and output,
 * decoded as UTF-8 across chunks. stdin is closed: not a socket, which would make bash read ~/.bashrc.
 */
export function runToEnd(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (out += s));
    child.stderr.on('data', (s: string) => (err += s));
    const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}
