import { Writable } from 'node:stream';

/** A Writable that keeps what the CLI printed, for assertions. */
export function sink(): Writable & { text(): string } {
  let s = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      s += chunk.toString();
      cb();
    },
  }) as Writable & { text(): string };
  w.text = () => s;
  return w;
}
