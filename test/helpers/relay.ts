// A TCP relay in front of a real server that a test can cut and restore on
// the same port: the server stays up, its clients lose it (an outage as a
// network sees it).
import net from 'node:net';

export interface Relay {
  /** The relay's port on 127.0.0.1 (0 before the first open). */
  readonly port: number;
  /** Holds what the server sends back this long before passing it on (a slow server, as its clients see it). */
  delayMs: number;
  open(): Promise<void>;
  /** Drops every connection and stops listening: clients get resets, then refusals. */
  close(): Promise<void>;
}

export function relay(target: { host: string; port: number }): Relay {
  let server: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  let port = 0;
  const self: Relay = {
    delayMs: 0,
    get port() {
      return port;
    },
    async open() {
      server = net.createServer((c) => {
        const up = net.connect(target.port, target.host);
        sockets.add(c).add(up);
        c.pipe(up);
        // Server to client, held `delayMs` when set (timers of one delay fire in order).
        up.on('data', (d: Buffer) => {
          if (self.delayMs > 0) setTimeout(() => c.writable && c.write(d), self.delayMs);
          else c.write(d);
        });
        const done = () => {
          c.destroy();
          up.destroy();
          sockets.delete(c);
          sockets.delete(up);
        };
        c.on('error', done).on('close', done);
        up.on('error', done).on('close', done);
      });
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
      port = (server!.address() as net.AddressInfo).port;
    },
    async close() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      const s = server;
      server = undefined;
      await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
    },
  };
  return self;
}
