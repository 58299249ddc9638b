/** Runs `bulwark <argv>` in this process (the real CLI code path) and reports peak RSS on stderr. */
import { runCli } from '../../src/cli/main.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.stderr.write(`\n${JSON.stringify({ peak_rss_bytes: process.resourceUsage().maxRSS * 1024 })}\n`);
process.exitCode = code;
