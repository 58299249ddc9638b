// Runs the compiled CLI (dist/, what `bulwark` runs) in this process and reports its peak RSS on
// stderr: the engine bench measures the product, not the tsx-transformed sources.
import { runCli } from '../../dist/cli/main.js';

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.stderr.write(`\n${JSON.stringify({ peak_rss_bytes: process.resourceUsage().maxRSS * 1024 })}\n`);
process.exitCode = code;
