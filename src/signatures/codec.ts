/**
 * A generic codec for sending a compiled Ruleset (or any value graph) from the compile worker
 * (src/signatures/worker.ts) to the main thread without stalling the main thread's event loop.
 *
 * Why not one postMessage of the Ruleset: structured clone cannot carry class instances with
 * native state (a `Regex` holds a PCRE2 handle valid only on the thread that compiled it), and
 * deserializing one message of a 50k-signature ruleset is one synchronous step of hundreds of
 * milliseconds on the receiving thread. So the graph is cut into pieces of bounded size:
 *
 * - Piece 0 is the root; every array longer than CHUNK_ARRAY elements is replaced by a
 *   placeholder and its elements follow in later pieces (FIFO, in the order the placeholders
 *   were met), each piece bounded by a node/byte budget. The receiver takes one piece at a time
 *   (receiveMessageOnPort) inside a time-budgeted slice.
 * - Typed arrays whose buffer they cover alone (one view, whole buffer, >= transferMinBytes) are
 *   transferred, not copied: the automata (Int32Array of up to 256 MiB) move in O(1). Other views
 *   (a fast pattern is a subarray of its content's bytes; pooled Buffers share a slab) are sent
 *   as a copy of just their bytes, so a 32-byte view never drags its 8 KiB slab along.
 * - Class instances are sent through a ClassCodec: `encode` gives plain data, `decode` rebuilds
 *   the instance on the receiving thread; a `slow` decode (a PCRE2 compile) is queued and run in
 *   the receiver's time-budgeted slices. Any other class instance, function, symbol, symbol key
 *   or cycle is refused with the path where it was found: a field someone adds to
 *   Signature/Ruleset either travels intact or fails loudly (test/unit/signatures/codec.test.ts
 *   walks a compiled ET Open ruleset).
 * - Plain objects, arrays, Map, Set, Date, primitives (bigint too) and Buffers are handled
 *   generically; an object reachable twice is sent once and both places get the same object.
 */
import { BulwarkError } from '../errors.js';

/** The key of a codec placeholder object; a plain object of the graph with this key is refused. */
export const TAG = '$bulwarkCodec';

/** Sends instances of one class: plain data out, the instance rebuilt on the receiving side. */
export interface ClassCodec<T extends object = object, D = unknown> {
  /** Names the class in placeholders and messages. */
  name: string;
  /** The constructor: only exact instances (and subclasses) of it are encoded by this codec. */
  type: abstract new (...args: never[]) => T;
  /** Plain, structured-cloneable data that is enough to rebuild the instance. */
  encode(value: T): D;
  decode(data: D): T;
  /** The decode is expensive (native compile): run in the receiver's time slices, not while reading a piece. */
  slow?: boolean;
}

export interface EncodeOptions {
  classes: readonly ClassCodec<never>[];
  /** A piece is closed once it holds this many nodes (default 4000). */
  pieceNodes?: number;
  /** ...or this many bytes of strings and copied typed arrays (default 256 KiB). */
  pieceBytes?: number;
  /** Smallest buffer worth transferring rather than copying (default 4 KiB). */
  transferMinBytes?: number;
}

/** One message: the root (array undefined) or a run of elements of a chunked array. */
export interface Piece {
  /** Placeholder id of the chunked array these elements belong to; absent for the root piece. */
  array?: number;
  /** Index of the first element in that array. */
  start?: number;
  value: unknown;
  /** Buffers to move with this message (postMessage transfer list). */
  transfer: ArrayBuffer[];
}

/** Arrays longer than this are sent in pieces. */
const CHUNK_ARRAY = 32;
const MAX_DEPTH = 200;

function refuse(what: string, path: readonly (string | number)[]): never {
  const where = path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
  throw new BulwarkError('BULWARK_ERR_INTERNAL', `ruleset codec: cannot send ${what} at ruleset${where}`, { details: { path: where } });
}

function isPlainObject(v: object): boolean {
  const p = Object.getPrototypeOf(v) as unknown;
  return p === Object.prototype || p === null;
}

function className(v: object): string {
  const c = (v as { constructor?: { name?: unknown } }).constructor;
  return typeof c?.name === 'string' && c.name !== '' ? `an instance of ${c.name}` : 'an object with a foreign prototype';
}

type View = ArrayBufferView & { buffer: ArrayBufferLike };

/**
 * Cuts `root` into pieces (a generator: the worker posts each as it is made). Throws
 * BULWARK_ERR_INTERNAL naming the path of anything it cannot send.
 */
export function* encodeGraph(root: unknown, opts: EncodeOptions): Generator<Piece, void, undefined> {
  const classes = opts.classes as readonly ClassCodec[];
  const pieceNodes = opts.pieceNodes ?? 4000;
  const pieceBytes = opts.pieceBytes ?? 256 * 1024;
  const transferMin = opts.transferMinBytes ?? 4096;
  const codecOf = (v: object): ClassCodec | undefined => classes.find((c) => v instanceof c.type);

  // Pass 1: how often each object and each buffer is reachable (sharing), and no cycles.
  const seen = new Map<object, number>();
  const views = new Map<ArrayBufferLike, number>();
  const onPath = new Set<object>();
  const path: (string | number)[] = [];
  const count = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    if (onPath.has(v)) refuse('a cycle', path);
    const n = seen.get(v);
    seen.set(v, (n ?? 0) + 1);
    if (n !== undefined) return;
    if (ArrayBuffer.isView(v)) {
      views.set(v.buffer, (views.get(v.buffer) ?? 0) + 1);
      return;
    }
    if (path.length > MAX_DEPTH) refuse(`a value nested deeper than ${MAX_DEPTH}`, path);
    onPath.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        count(v[i]);
        path.pop();
      }
    } else if (v instanceof Map) {
      let i = 0;
      for (const [k, x] of v) {
        path.push(`<map entry ${i++}>`);
        count(k);
        count(x);
        path.pop();
      }
    } else if (v instanceof Set) {
      let i = 0;
      for (const x of v) {
        path.push(`<set entry ${i++}>`);
        count(x);
        path.pop();
      }
    } else if (isPlainObject(v)) {
      for (const k of Object.keys(v)) {
        path.push(k);
        count((v as Record<string, unknown>)[k]);
        path.pop();
      }
    }
    onPath.delete(v);
  };
  count(root);

  // Pass 2: encode, piece by piece.
  const defs = new Map<object, number>();
  const transferred = new Set<ArrayBufferLike>();
  const queue: { id: number; arr: readonly unknown[]; path: (string | number)[] }[] = [];
  let nextId = 0;
  let nodes = 0;
  let bytes = 0;
  let transfer: ArrayBuffer[] = [];

  const view = (v: View): unknown => {
    const buf = v.buffer;
    const isBuffer = Buffer.isBuffer(v);
    let out: unknown;
    if (typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer) out = v;
    else if (v.byteOffset === 0 && v.byteLength === buf.byteLength && views.get(buf) === 1 && buf.byteLength >= transferMin) {
      if (!transferred.has(buf)) {
        transferred.add(buf);
        transfer.push(buf as ArrayBuffer);
      }
      out = isBuffer ? new Uint8Array(buf, v.byteOffset, v.byteLength) : v;
    } else {
      // A copy of just the view's bytes, in a buffer of its own.
      bytes += v.byteLength;
      const copy = (buf as ArrayBuffer).slice(v.byteOffset, v.byteOffset + v.byteLength);
      if (isBuffer) out = new Uint8Array(copy);
      else if (v instanceof DataView) out = new DataView(copy);
      else {
        const Ctor = v.constructor as new (b: ArrayBuffer) => ArrayBufferView;
        out = new Ctor(copy);
      }
    }
    return isBuffer ? { [TAG]: 'buffer', v: out } : out;
  };

  const enc = (v: unknown, depth: number): unknown => {
    nodes++;
    switch (typeof v) {
      case 'string':
        bytes += v.length;
        return v;
      case 'number':
      case 'boolean':
      case 'undefined':
      case 'bigint':
        return v;
      case 'function':
        return refuse('a function', path);
      case 'symbol':
        return refuse('a symbol', path);
      default:
    }
    if (v === null) return v;
    const o = v as object;
    if ((seen.get(o) ?? 0) > 1) {
      const id = defs.get(o);
      if (id !== undefined) return { [TAG]: 'ref', id };
      const nid = nextId++;
      defs.set(o, nid);
      return { [TAG]: 'def', id: nid, v: inner(o, depth) };
    }
    return inner(o, depth);
  };

  const inner = (o: object, depth: number): unknown => {
    if (ArrayBuffer.isView(o)) return view(o);
    if (Array.isArray(o)) {
      if (o.length > CHUNK_ARRAY) {
        const id = nextId++;
        queue.push({ id, arr: o, path: [...path] });
        return { [TAG]: 'array', id, n: o.length };
      }
      const out: unknown[] = new Array<unknown>(o.length);
      for (let i = 0; i < o.length; i++) {
        path.push(i);
        out[i] = enc(o[i], depth + 1);
        path.pop();
      }
      return out;
    }
    if (o instanceof Map) return { [TAG]: 'map', e: enc([...o], depth + 1) };
    if (o instanceof Set) return { [TAG]: 'set', e: enc([...o], depth + 1) };
    if (o instanceof Date) return new Date(o.getTime());
    const codec = codecOf(o);
    if (codec) return { [TAG]: 'class', c: codec.name, v: enc(codec.encode(o), depth + 1) };
    if (!isPlainObject(o)) return refuse(className(o), path);
    if (Object.getOwnPropertySymbols(o).length > 0) refuse('an object with symbol keys', path);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) {
      if (k === TAG) refuse(`an object with the reserved key ${TAG}`, path);
      path.push(k);
      out[k] = enc((o as Record<string, unknown>)[k], depth + 1);
      path.pop();
    }
    return out;
  };

  const take = (): ArrayBuffer[] => {
    const t = transfer;
    transfer = [];
    nodes = 0;
    bytes = 0;
    return t;
  };

  const rootValue = enc(root, 0);
  yield { value: rootValue, transfer: take() };
  for (let q = queue.shift(); q !== undefined; q = queue.shift()) {
    path.length = 0;
    path.push(...q.path);
    let start = 0;
    while (start < q.arr.length) {
      const items: unknown[] = [];
      let i = start;
      while (i < q.arr.length && (items.length === 0 || (nodes < pieceNodes && bytes < pieceBytes))) {
        path.push(i);
        items.push(enc(q.arr[i], 0));
        path.pop();
        i++;
      }
      yield { array: q.id, start, value: items, transfer: take() };
      start = i;
    }
  }
}

interface SlowItem {
  codec: ClassCodec;
  data: unknown;
  slots: [holder: Record<string | number, unknown>, key: string | number][];
}

/** Strings up to this length are handed out once per decode (GraphDecoder.intern). */
const INTERN_MAX = 256;
/** Byte arrays up to this length share the decoder's slabs (GraphDecoder.pack). */
const PACK_MAX = 256;
const PACK_SLAB = 64 * 1024;

function decodeError(what: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_INTERNAL', `ruleset codec: ${what}`);
}

/**
 * Rebuilds the graph from pieces in the order encodeGraph made them. `add` costs time in
 * proportion to the piece (bounded by the encoder's budget); `step` runs queued slow decodes
 * (PCRE2 compiles) and the Map/Set fills until a deadline, so the caller can yield between.
 */
export class GraphDecoder {
  private readonly classes: Map<string, ClassCodec>;
  private readonly defs = new Map<number, unknown>();
  private readonly slowDefs = new Map<number, SlowItem>();
  private readonly arrays = new Map<number, { arr: unknown[]; n: number; filled: number }>();
  private readonly slow: SlowItem[] = [];
  private slowAt = 0;
  private readonly finishers: (() => void)[] = [];
  private finishedAt = 0;
  private root: unknown;
  private started = false;
  /**
   * Structured clone gives every occurrence of a string its own copy: ET Open's signatures hold
   * 'content' 28k times, 'http' 23k, metadata keys and values thousands each (14.6 of a scan
   * worker's ~60 MB of signature heap; 3.8 MB once each). One copy per distinct string.
   */
  private strings: Map<string, string> | null = new Map<string, string>();
  /** Distinct strings handed out (the rest were duplicates). */
  interned = 0;
  /**
   * A content's bytes arrive as a Uint8Array with a backing store of its own (~350 bytes of
   * ArrayBuffer object, store, extension and malloc for a few bytes; ET Open has 29k): small
   * ones are copied into shared slabs, as Buffers of the compile share Node's pool.
   */
  private slab = new Uint8Array(0);
  private slabUsed = 0;

  constructor(classes: readonly ClassCodec<never>[]) {
    this.classes = new Map((classes as readonly ClassCodec[]).map((c) => [c.name, c]));
  }

  /** Pieces still expected (arrays announced and not yet filled). */
  get pendingArrays(): number {
    let n = 0;
    for (const a of this.arrays.values()) if (a.filled < a.n) n++;
    return n;
  }

  add(piece: Pick<Piece, 'array' | 'start' | 'value'>): void {
    if (piece.array === undefined) {
      if (this.started) throw decodeError('two root pieces');
      this.started = true;
      const box: Record<string, unknown> = { root: piece.value };
      box.root = this.rev(piece.value, box, 'root');
      this.root = box.root;
      return;
    }
    const a = this.arrays.get(piece.array);
    if (!a || !Array.isArray(piece.value) || piece.start !== a.filled) throw decodeError(`piece for unknown array ${String(piece.array)} or out of order`);
    const items = piece.value as unknown[];
    if (a.filled + items.length > a.n) throw decodeError(`array ${String(piece.array)} overfilled`);
    const holder = a.arr as unknown as Record<number, unknown>;
    for (let i = 0; i < items.length; i++) {
      const k = a.filled + i;
      a.arr[k] = items[i];
      a.arr[k] = this.rev(items[i], holder, k);
    }
    a.filled += items.length;
  }

  /**
   * Runs queued slow decodes, then (once every piece is in) the Map/Set fills, until `deadline`
   * (performance.now() ms; at least one unit of work per call). True when nothing is left.
   */
  step(deadline: number): boolean {
    for (;;) {
      const item = this.slow[this.slowAt];
      if (item) {
        this.slowAt++;
        const value = item.codec.decode(item.data);
        for (const [h, k] of item.slots) h[k] = value;
      } else if (this.pendingArrays === 0 && this.finishedAt < this.finishers.length) {
        this.finishers[this.finishedAt++]!();
      } else break;
      if (performance.now() >= deadline) break;
    }
    return this.slowAt >= this.slow.length && (this.pendingArrays > 0 || this.finishedAt >= this.finishers.length);
  }

  /** The rebuilt root; throws when pieces or slow decodes are missing. */
  result(): unknown {
    if (!this.started || this.pendingArrays > 0) throw decodeError('incomplete: pieces missing');
    if (this.slowAt < this.slow.length || this.finishedAt < this.finishers.length) throw decodeError('incomplete: step() not run to the end');
    this.strings = null;
    return this.root;
  }

  private intern(s: string): string {
    if (s.length > INTERN_MAX || this.strings === null) return s;
    const x = this.strings.get(s);
    if (x !== undefined) return x;
    this.strings.set(s, s);
    this.interned++;
    return s;
  }

  /** A small Uint8Array's bytes in a shared slab (shared memory and other views as they are). */
  private pack(u: Uint8Array): Uint8Array {
    const n = u.byteLength;
    if (n > PACK_MAX || u.constructor !== Uint8Array || !(u.buffer instanceof ArrayBuffer)) return u;
    if (this.slabUsed + n > this.slab.length) {
      this.slab = new Uint8Array(PACK_SLAB);
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + n);
    out.set(u);
    this.slabUsed += n;
    return out;
  }

  private rev(v: unknown, holder: Record<string | number, unknown>, key: string | number): unknown {
    if (typeof v === 'string') return this.intern(v);
    if (v instanceof Uint8Array) return this.pack(v);
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof Date) return v;
    if (Array.isArray(v)) {
      const h = v as unknown as Record<number, unknown>;
      for (let i = 0; i < v.length; i++) v[i] = this.rev(v[i], h, i);
      return v;
    }
    const o = v as Record<string, unknown>;
    const tag = o[TAG];
    if (tag === undefined) {
      for (const k of Object.keys(o)) o[k] = this.rev(o[k], o, k);
      return o;
    }
    switch (tag) {
      case 'ref': {
        const id = o.id as number;
        const s = this.slowDefs.get(id);
        if (s) {
          s.slots.push([holder, key]);
          return undefined;
        }
        if (!this.defs.has(id)) throw decodeError(`reference to unknown object ${String(id)}`);
        return this.defs.get(id);
      }
      case 'def': {
        const id = o.id as number;
        const before = this.slow.length;
        const x = this.rev(o.v, holder, key);
        // A shared instance of a slow class: the later references wait for the same decode.
        const queued = this.slow.length > before ? this.slow[this.slow.length - 1] : undefined;
        if (queued && x === undefined) this.slowDefs.set(id, queued);
        else this.defs.set(id, x);
        return x;
      }
      case 'array': {
        const id = o.id as number;
        const n = o.n as number;
        const arr = new Array<unknown>(n);
        this.arrays.set(id, { arr, n, filled: 0 });
        return arr;
      }
      case 'buffer': {
        const u = this.pack(o.v as Uint8Array);
        return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
      }
      case 'map': {
        const m = new Map<unknown, unknown>();
        const box: Record<string, unknown> = {};
        box.e = this.rev(o.e, box, 'e');
        this.finishers.push(() => {
          for (const [k, x] of box.e as [unknown, unknown][]) m.set(k, x);
        });
        return m;
      }
      case 'set': {
        const s = new Set<unknown>();
        const box: Record<string, unknown> = {};
        box.e = this.rev(o.e, box, 'e');
        this.finishers.push(() => {
          for (const x of box.e as unknown[]) s.add(x);
        });
        return s;
      }
      case 'class': {
        const codec = this.classes.get(o.c as string);
        if (!codec) throw decodeError(`no codec for class ${String(o.c)}`);
        const box: Record<string, unknown> = {};
        box.v = this.rev(o.v, box, 'v');
        if (!codec.slow) return codec.decode(box.v);
        this.slow.push({ codec, data: box.v, slots: [[holder, key]] });
        return undefined;
      }
      default:
        throw decodeError(`unknown placeholder ${JSON.stringify(tag)}`);
    }
  }
}
