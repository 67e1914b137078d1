import type { Level } from '../../contract/documents.js';

// Layouts spell levels their own way (java.util.logging's SEVERE, Python's
// WARNING and CRITICAL); the store keeps the contract's six names only.
const LEVEL_NAMES: Record<string, Level> = {
  TRACE: 'TRACE', DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARN', WARNING: 'WARN', ERROR: 'ERROR', FATAL: 'FATAL', SEVERE: 'ERROR', CRITICAL: 'FATAL',
};

export function normalizeLevel(s: string | undefined): Level | undefined {
  return s === undefined ? undefined : LEVEL_NAMES[s.toUpperCase()];
}
