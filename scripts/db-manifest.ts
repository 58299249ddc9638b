/**
 * Regenerates MANIFEST.json of a database directory (default: databases/).
 * Usage: npm run db:manifest [-- DIR]
 */
import { fileURLToPath } from 'node:url';
import { writeManifest } from '../src/signatures/manifest.js';

const dir = process.argv[2] ?? fileURLToPath(new URL('../databases', import.meta.url));
const m = await writeManifest(dir);
console.log(`${dir}/MANIFEST.json: ${m.database} ${m.version}, ${Object.keys(m.files).length} files`);
