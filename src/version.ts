import { readFileSync } from 'node:fs';

function readVersion(): string {
  // package.json sits two levels above both src/version.ts and dist/version.js.
  try {
    const raw: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    if (typeof raw === 'object' && raw !== null && 'version' in raw && typeof raw.version === 'string') return raw.version;
  } catch {
    // fall through
  }
  return '0.0.0-unknown';
}

export const VERSION = readVersion();
