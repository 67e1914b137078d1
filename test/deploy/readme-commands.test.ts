// The install guide's commands as a user runs them (issue 29): after a
// fresh-clone `npm test`, the local node still held the test's namespaces,
// Secret and finished setup Job, and following deploy/README.md failed with
// "already exists", or left setup not run again ("job.batch/sparklogs-setup
// unchanged"). Its commands must be safe to run on a cluster that has their
// objects, name no sudo (the machine may have none), and call only
// subcommands the local scripts have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOY, ROOT } from './manifests.js';

const guide = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** Shell blocks of a Markdown file, continuation lines joined into one command. */
function commands(md: string): string[][] {
  return [...md.matchAll(/```(?:sh|bash)\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
}

test('every kubectl create in the guide is idempotent: applied through --dry-run, or guarded by a get', () => {
  let creates = 0;
  for (const block of commands(guide)) {
    block.forEach((line, i) => {
      if (!/\bkubectl\b.*\bcreate (namespace|secret|configmap|job)\b/.test(line)) return;
      creates++;
      const guarded = /--dry-run=client\b.*\|\s*kubectl apply -f -/.test(line) || (/\bkubectl\b.*\bget\b.*\|\|$/.test(block[i - 1] ?? '') && /\bget (namespace|secret|configmap|job)\b/.test(block[i - 1]!));
      // Troubleshooting's one-off jobs (kubectl create job --from=cronjob/...) are named by the user each time.
      if (/create job .*--from=/.test(line)) return;
      assert.ok(guarded, `deploy/README.md: "${line}" fails when the object exists`);
    });
  }
  assert.ok(creates >= 2, 'the guide creates the jobs namespace and the token Secret');
});

test('the guide deletes a finished setup Job before applying an overlay, so setup runs again', () => {
  let applies = 0;
  for (const block of commands(guide)) {
    block.forEach((line, i) => {
      if (!/\bkubectl apply -k deploy\/kubernetes\/overlays\//.test(line)) return;
      applies++;
      assert.ok(block.slice(0, i).some((l) => /\bkubectl -n sparklogs delete job sparklogs-setup --ignore-not-found\b/.test(l)), `deploy/README.md: "${line}" leaves an earlier install's finished Job "unchanged"`);
    });
  }
  assert.ok(applies >= 1);
});

test('the READMEs name no sudo, and only subcommands the local scripts have', () => {
  for (const [name, text] of [['README.md', readme], ['deploy/README.md', guide]] as const) {
    assert.doesNotMatch(text, /\bsudo\b/, `${name}: the scripts run as root; the machine may have no sudo`);
    for (const [, script, sub] of text.matchAll(/\bdeploy\/local\/(kube|stack|images|node|spark|flink|flume) ([a-z][a-z-]*)\b/g)) {
      const usage = readFileSync(join(DEPLOY, 'local', script!), 'utf8');
      assert.match(usage, new RegExp(`^\\s*([a-z|-]*\\|)?${sub}(\\|[a-z|-]*)?\\)`, 'm'), `${name}: deploy/local/${script} has no subcommand ${sub}`);
    }
  }
});
