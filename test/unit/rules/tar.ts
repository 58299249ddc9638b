/** Hand-built tar entries (ustar), for archives tar(1) refuses to write: absolute paths, "..", escaping links. */
export function tarEntry(o: { name: string; data?: string | Buffer; type?: string; linkname?: string }): Buffer {
  const data = typeof o.data === 'string' ? Buffer.from(o.data) : (o.data ?? Buffer.alloc(0));
  const h = Buffer.alloc(512);
  h.write(o.name.slice(0, 100), 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(o.type ?? '0', 156);
  if (o.linkname !== undefined) h.write(o.linkname, 157);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

export function tarEnd(): Buffer {
  return Buffer.alloc(1024);
}
