#!/usr/bin/env node
// A static HTTP server for end-to-end tests, run inside a test namespace:
//   node static-server.mjs DIR HOST PORT
// Serves DIR's files (GET/HEAD, Content-Length, Last-Modified from the file); 404 otherwise.
// Prints "listening" once bound.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { join, normalize } from 'node:path';

const [dir, host, port] = process.argv.slice(2);
createServer((req, res) => {
  const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]));
  const file = join(dir, path);
  if (!file.startsWith(dir)) return res.writeHead(403).end();
  let st;
  try {
    st = statSync(file);
  } catch {
    return res.writeHead(404).end();
  }
  if (!st.isFile()) return res.writeHead(404).end();
  res.writeHead(200, { 'content-length': st.size, 'last-modified': st.mtime.toUTCString() });
  if (req.method === 'HEAD') return res.end();
  createReadStream(file).pipe(res);
}).listen(Number(port), host, () => process.stdout.write('listening\n'));
