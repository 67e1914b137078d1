// Answers whether a Kafka broker serves metadata: sends one Metadata request
// (v4, the lowest version Kafka 4 still accepts) and exits 0 when the reply
// lists at least one broker. Dependency-free so the stack script can use it
// before `npm install` has run.
import net from 'node:net';

const [host = '127.0.0.1', portArg = '9092', timeoutArg = '3000'] = process.argv.slice(2);
const clientId = Buffer.from('sparklogs-stack');
const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
let o = 0;
o = body.writeInt16BE(3, o); // api key: Metadata
o = body.writeInt16BE(4, o); // api version
o = body.writeInt32BE(1, o); // correlation id
o = body.writeInt16BE(clientId.length, o);
o += clientId.copy(body, o);
o = body.writeInt32BE(-1, o); // all topics
body.writeInt8(0, o); // allow_auto_topic_creation = false
const frame = Buffer.alloc(4);
frame.writeInt32BE(body.length);

const sock = net.connect({ host, port: Number(portArg) });
const timer = setTimeout(() => fail('no answer in time'), Number(timeoutArg));
let buf = Buffer.alloc(0);
sock.on('connect', () => sock.write(Buffer.concat([frame, body])));
sock.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
  // size, correlation id, throttle_time_ms, brokers count
  const brokers = buf.readInt32BE(12);
  clearTimeout(timer);
  sock.destroy();
  if (brokers > 0) process.exit(0);
  fail('metadata lists no broker yet');
});
sock.on('error', (err) => fail(err.code ?? err.message));

function fail(why) {
  process.stderr.write(`kafka at ${host}:${portArg} not ready: ${why}\n`);
  process.exit(1);
}
