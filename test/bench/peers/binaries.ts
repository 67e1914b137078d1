// Where test/bench/peers/build put the peer shippers (SPARKLOGS_HOME/bench-peers,
// versions from versions.env): the peers part runs the ones that are built and
// names the command that builds the others.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cacheHome } from '../generate.js';
import { REPO } from '../context.js';

export type PeerName = 'filebeat' | 'otelcol';

export const BUILD_SCRIPT = join(import.meta.dirname, 'build');

export function peerVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(import.meta.dirname, 'versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export interface PeerBinary {
  name: PeerName;
  /** The version as the report prints it. */
  version: string;
  path: string;
  built: boolean;
  /** The command that builds it, relative to the repository. */
  buildCommand: string;
}

export function peerBinary(name: PeerName): PeerBinary {
  const v = peerVersions();
  const dir = join(cacheHome(), 'bench-peers');
  const path = name === 'filebeat'
    ? join(dir, `filebeat-${v.FILEBEAT_LABEL}`, 'filebeat')
    : join(dir, `otelcol-${(v.OTELCOL_CONTRIB_VERSION ?? '').replace(/^v/, '')}`, 'otelcol-sparklogs-bench');
  const version = name === 'filebeat' ? `Filebeat ${v.FILEBEAT_LABEL} (OSS)` : `OpenTelemetry Collector ${v.OTELCOL_CONTRIB_VERSION} (builder distribution)`;
  return { name, version, path, built: existsSync(path), buildCommand: `bash ${relative(REPO, BUILD_SCRIPT)} ${name}` };
}
