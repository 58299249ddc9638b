/**
 * Regenerates the files derived from the CLI's command table: the man page and the bash/zsh
 * completions (src/cli/spec.ts). `npm run gen:cli`; test/unit/cli/spec.test.ts fails when they are stale.
 */
import { writeFileSync } from 'node:fs';
import { generatedCliFiles } from '../src/cli/generated.js';

for (const [path, text] of Object.entries(generatedCliFiles())) {
  writeFileSync(new URL(`../${path}`, import.meta.url), text);
  console.log(`wrote ${path}`);
}
