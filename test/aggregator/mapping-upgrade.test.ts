// A line index made by an older release has a strict mapping without the
// fields added since (the event number `n`, the capture `log`): the aggregator's start-up puts
// them on it, so a new collector's lines are stored there, not refused; an
// index whose mapping conflicts with ours (changed by hand) does not stop the
// start-up.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createEsSink } from '../../aggregator/sinks/elasticsearch.js';
import { LINES_ADDED_FIELDS, linesTemplate, lineId, type LineDoc } from '../../contract/index.js';
import { testStack, uniqueNames } from '../helpers/stack.js';
import { markedRetriable, retrying } from '../helpers/wait.js';
import { cleanup, es } from './harness.js';

const { esUrl } = testStack();
const n = uniqueNames('agg-mapping');
after(async () => cleanup(esUrl, n));

test('start-up adds the new fields to an older line index; a conflicting index does not stop it', { timeout: 120_000 }, async () => {
  const t = linesTemplate(n);
  const old = { ...t.template.mappings, properties: Object.fromEntries(Object.entries(t.template.mappings.properties).filter(([k]) => !(LINES_ADDED_FIELDS as readonly string[]).includes(k))) };
  const older = `${n.linesIndexPrefix}2026.01.01`;
  const conflicting = `${n.linesIndexPrefix}2026.01.02`;
  // Made by the release that added `n` but not `log`.
  const withN = `${n.linesIndexPrefix}2026.01.03`;
  const oldWithN = { ...old, properties: { ...old.properties, n: { type: 'long' } } };
  await es(esUrl, `/${older}`, { settings: t.template.settings, mappings: old }, 'PUT');
  await es(esUrl, `/${withN}`, { settings: t.template.settings, mappings: oldWithN }, 'PUT');
  await es(esUrl, `/${conflicting}`, { mappings: { properties: { n: { type: 'keyword' }, message: { type: 'long' } } } }, 'PUT');

  const sink = createEsSink({ url: esUrl, names: n, requestTimeoutMs: 30_000 });
  await retrying(() => sink.installTemplates(), { what: 'installing the templates', retriable: markedRetriable });
  const got = await es<Record<string, { mappings: { properties: Record<string, { type: string }> } }>>(esUrl, `/${older}/_mapping`);
  assert.equal(got[older]?.mappings.properties.n?.type, 'long', 'the event number is mapped on the older index');
  assert.equal(got[older]?.mappings.properties.log?.type, 'keyword', 'the capture is mapped on the older index');
  const got2 = await es<Record<string, { mappings: { properties: Record<string, { type: string }> } }>>(esUrl, `/${withN}/_mapping`);
  assert.equal(got2[withN]?.mappings.properties.log?.type, 'keyword', 'the capture is mapped on an index that had the event number already');
  assert.ok((LINES_ADDED_FIELDS as readonly string[]).includes('log'));

  const src = { podUid: 'u1', fileId: 'f1' };
  const doc: LineDoc = { '@timestamp': Date.UTC(2026, 0, 1), ingested: Date.UTC(2026, 0, 1), lid: lineId(src, 0), appType: 'spark', appId: 'spark-m', executorId: '1', role: 'executor', file: 'x', fileId: 'f1', fileSeq: 0, off: 0, n: 0, message: 'hello' };
  const [outcome] = await sink.bulk([{ index: older, id: doc.lid, doc }]);
  assert.equal(outcome?.status, 'ok', `a line with its number is stored in the older index: ${JSON.stringify(outcome)}`);
  // A line of a whole-stream capture, in both older indices.
  const captured: LineDoc = { ...doc, lid: lineId(src, 100), off: 100, stream: 'stdout', log: 'stdout', message: 'println' };
  const outcomes = await sink.bulk([{ index: older, id: captured.lid, doc: captured }, { index: withN, id: captured.lid, doc: captured }]);
  assert.deepEqual(outcomes.map((o) => o.status), ['ok', 'ok'], `a captured line is stored in the older indices: ${JSON.stringify(outcomes)}`);
});
