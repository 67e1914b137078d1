// A Server-Sent Events reader over fetch (EventSource is browser-only and
// cannot send an Authorization header): yields one event per blank-line
// separated block; comments (heartbeats) are skipped.

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

const MAX_EVENT = 64 << 20;

export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    if (buf.length > MAX_EVENT) throw new Error('event stream: an event larger than 64 MiB');
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const ev: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') ev.event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') ev.id = value;
      }
      if (data.length === 0) continue;
      ev.data = data.join('\n');
      yield ev;
    }
  }
}
