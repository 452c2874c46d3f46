/**
 * Sparse repodata: find every record's bytes by package name with one scan of the JSON text, and
 * parse (JSON.parse + normaliseRecord) only the names a query asks for.
 *
 * A full conda-forge subdir is ~300 MB of JSON and ~430k records, of which a lock touches ~2%.
 * Materialising every record costs seconds of CPU and a GB of heap; the scan below visits each byte
 * once in a tight loop, keeps four numbers per record (byte ranges of its key and its value), and
 * records each record's `name` from its own bytes (never guessed from the file name).
 *
 * The scan understands the standard repodata shape — a top-level object with `info` / `metadata`,
 * `packages`, `packages.conda`, `removed` (other keys are skipped). Anything else (flat
 * `{fn: record}` maps, single records) returns undefined and callers use the full parser
 * (parse.ts). Structure errors (unbalanced brackets, unterminated strings, trailing garbage,
 * truncation) are found by the scan; errors inside a record's bytes surface when that record is
 * first parsed, as E_REPODATA_INVALID naming the source.
 *
 * The text lives either in memory (a Buffer) or in a file read by byte range (the cache's
 * decompressed copy), so a warm lock reads only the records it needs.
 *
 * The name index serialises to a compact binary form (`serialise` / `SparseIndex.deserialise`)
 * stored beside the cached JSON, so reopening the cache does no scan at all.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError } from '../errors.js';
import type { RepoDataRecord } from '../conda/record.js';
import { makeContext, normaliseRecord, safeRecord, type ParseRepoDataOptions, type RecordContext } from './parse.js';

const Q = 0x22; // "
const BS = 0x5c; // \
const LB = 0x7b; // {
const RB = 0x7d; // }
const LS = 0x5b; // [
const RS = 0x5d; // ]
const COMMA = 0x2c;

/** Per record: [valueStart, valueEnd, keyStart, keyEnd] (key without quotes), grouped by name. */
export interface SparseIndexData {
  /** The JSON text's length in bytes (a file of another length is not this index's). */
  size: number;
  /** Raw `info` (or `metadata`) object, parsed. */
  info: Record<string, unknown> | undefined;
  /** `removed` file names. */
  removed: string[];
  /** Names in first-seen order. */
  names: string[];
  /** Per name: how many `packages.conda` entries, then how many `packages` entries. */
  counts: Uint32Array;
  /** 4 numbers per record, names in `names` order, .conda entries of a name before its .tar.bz2. */
  table: Uint32Array;
}

interface Section {
  conda: boolean;
}

/** Growable uint32 list. */
class U32List {
  a = new Uint32Array(1 << 16);
  n = 0;
  push4(x: number, y: number, z: number, w: number): void {
    if (this.n + 4 > this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    const a = this.a;
    a[this.n] = x;
    a[this.n + 1] = y;
    a[this.n + 2] = z;
    a[this.n + 3] = w;
    this.n += 4;
  }
}

function bad(source: string, what: string, at: number): InputError {
  return new InputError(`${source} is not valid repodata JSON: ${what} at byte ${at}`, { code: 'E_REPODATA_INVALID' });
}

function keyText(b: Buffer, s: number, e: number): string {
  for (let k = s; k < e; k++) if (b[k] === BS || b[k]! >= 0x80) return JSON.parse(b.toString('utf8', s - 1, e + 1)) as string;
  return b.toString("latin1", s, e);
}

/**
 * The text as 32-bit words, for the word-at-a-time string skip: word k holds the bytes from
 * 4k - lead (lead = the Buffer's byteOffset mod 4, so the words are aligned). Only the text's own
 * bytes are ever matched (lower bytes of the first word are masked off, bytes past the last whole
 * word are read one by one). Big-endian hosts get no words and use the byte loop.
 */
interface Words {
  w: Uint32Array;
  lead: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function wordsOf(b: Uint8Array): Words {
  if (!LITTLE_ENDIAN) return { w: new Uint32Array(0), lead: 0 };
  const lead = b.byteOffset & 3;
  return { w: new Uint32Array(b.buffer, b.byteOffset - lead, (b.length + lead) >>> 2), lead };
}

/**
 * Index of the first '"' or '\\' at or after j (b.length when there is none). Four bytes per step:
 * a byte equal to c makes (x - 0x01010101) & ~x & 0x80808080 nonzero for x = word ^ c repeated, and
 * its lowest set bit is the first such byte. A borrow from a masked-off lower byte can flag a byte
 * that is not one, so the byte found is checked. Most of repodata's bytes are inside strings
 * (hashes, depends, licenses), so this is the scan's hot loop.
 */
function special(b: Uint8Array, words: Words, j: number): number {
  const n = b.length;
  const { w, lead } = words;
  const last = w.length - 1;
  while (j < n) {
    let k = (j + lead) >> 2;
    if (k > last) {
      for (; j < n; j++) {
        const d = b[j]!;
        if (d === Q || d === BS) return j;
      }
      return n;
    }
    const sh = ((j + lead) & 3) << 3;
    let x = w[k]! ^ 0x22222222;
    let y = w[k]! ^ 0x5c5c5c5c;
    let m = (((((x - 0x01010101) & ~x) | ((y - 0x01010101) & ~y)) & 0x80808080) >>> sh) << sh;
    while (m === 0 && k < last) {
      const v = w[++k]!;
      x = v ^ 0x22222222;
      y = v ^ 0x5c5c5c5c;
      m = (((x - 0x01010101) & ~x) | ((y - 0x01010101) & ~y)) & 0x80808080;
    }
    if (m === 0) {
      j = ((k + 1) << 2) - lead;
      continue;
    }
    const at = (k << 2) - lead + ((31 - Math.clz32(m & -m)) >> 3);
    const d = b[at]!;
    if (d === Q || d === BS) return at;
    j = at + 1;
  }
  return n;
}

/** Index of the closing quote of the string whose opening quote is at i, or -1 when the text ends first. */
function closingQuote(b: Uint8Array, words: Words, i: number): number {
  const n = b.length;
  let j = i + 1;
  for (;;) {
    j = special(b, words, j);
    if (j >= n) return -1;
    if (b[j] === Q) return j;
    j += 2; // an escape: the next byte is taken as it is
  }
}

/** Out-parameter of scanRecord: [nameStart, nameEnd] or [-1, -1]. */
const nameAt = new Int32Array(2);

/**
 * Walk one record object starting at its '{' (b[start]); returns the index after its closing '}',
 * or -1 when the text ends first. Depth 1 holds the record's own keys; the string value of key
 * "name" is reported in `out`. The hot loop of the scan: locals only.
 */
function scanRecord(b: Uint8Array, words: Words, start: number, out: Int32Array): number {
  const n = b.length;
  let i = start;
  let depth = 0;
  let keyNext = false;
  let wantName = false;
  out[0] = -1;
  out[1] = -1;
  while (i < n) {
    const c = b[i]!;
    if (c === Q) {
      const j = closingQuote(b, words, i);
      if (j < 0) return -1;
      if (depth === 1) {
        if (keyNext) {
          wantName = j - i === 5 && b[i + 1] === 0x6e && b[i + 2] === 0x61 && b[i + 3] === 0x6d && b[i + 4] === 0x65;
          keyNext = false;
        } else if (wantName) {
          out[0] = i + 1;
          out[1] = j;
          wantName = false;
        }
      }
      i = j + 1;
    } else if (c === LB || c === LS) {
      depth++;
      if (depth === 1) keyNext = true;
      else wantName = false;
      i++;
    } else if (c === RB || c === RS) {
      depth--;
      i++;
      if (depth === 0) return i;
    } else {
      if (c === COMMA && depth === 1) keyNext = true;
      i++;
    }
  }
  return -1;
}

/** Thrown inside the scanner when a unit runs past the bytes received so far (not an error). */
const INCOMPLETE = Symbol('incomplete');

const enum State {
  Start,
  /** After '{' or ',' at the top level: a key or '}'. */
  TopKey,
  /** After a top-level value: ',' or '}'. */
  TopAfter,
  /** Inside `packages` / `packages.conda`: a file-name key or '}'. */
  SecEntry,
  /** After a section entry: ',' or '}'. */
  SecAfter,
  /** After the top-level object: whitespace only. */
  Trailing,
  /** Not standard repodata (a single record): the rest is not scanned. */
  NotStandard,
}

/**
 * The scan, fed in pieces: `push()` each chunk of the JSON text as it arrives (e.g. straight out of
 * the zstd decoder, while the same chunks are written to the cache file), then `end()`. Only the
 * unfinished tail (a partial record, usually a few KB) is kept between chunks, so the whole text is
 * never held at once. The parser advances in units — a top-level key with a small value (`info`,
 * `removed`), a section's `"fn": {record}` entry, a separator — and a unit that runs past the bytes
 * received so far is retried when more arrive. Offsets in the index are absolute.
 */
export class RepoDataScanner {
  private buf: Buffer = Buffer.alloc(0);
  private words: Words = wordsOf(this.buf);
  /** Absolute offset of buf[0]. */
  private base = 0;
  private i = 0;
  private final = false;
  private state = State.Start;
  private section = false; // current section is packages.conda
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly nameOf = new Map<string, number>();
  private readonly names: string[] = [];
  /** per name: record slots (index into recs) of the conda and tar sections */
  private readonly perName: Array<{ conda: number[]; tar: number[] }> = [];
  private readonly recs = new U32List();
  private info: Record<string, unknown> | undefined;
  private removed: string[] = [];
  private sawPackages = false;
  private topKeys = 0;

  constructor(private readonly source = 'repodata') {}

  /** Bytes received so far (before end(): up to the last chunk scanned). */
  get size(): number {
    return this.base + this.buf.length + this.pendingBytes;
  }

  push(chunk: Uint8Array): void {
    if (this.final) throw new Error('RepoDataScanner: push after end');
    if (chunk.length === 0 || this.state === State.NotStandard) return;
    this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.pendingBytes += chunk.length;
    // A unit longer than a chunk (a big `removed` list) is retried only once the new bytes at least
    // match the tail kept, so the copying stays linear in the text's size.
    if (this.pendingBytes < this.buf.length - this.i) return;
    this.run();
  }

  /** The index, or undefined when the text is not standard repodata. Throws E_REPODATA_INVALID. */
  end(): SparseIndexData | undefined {
    this.final = true;
    if (this.state !== State.NotStandard) this.run();
    if (this.state === State.NotStandard) return undefined;
    if (this.state !== State.Trailing) throw bad(this.source, 'truncated JSON', this.base + this.i);
    if (!this.sawPackages && this.topKeys > 0) return undefined; // a flat { fn: record } map
    return this.result();
  }

  private run(): void {
    const tail = this.buf.subarray(this.i);
    // no copy when nothing is left over (the whole text in one piece; a piece that starts a record)
    this.buf = this.pending.length === 0 ? tail : tail.length === 0 && this.pending.length === 1 ? this.pending[0]! : Buffer.concat([tail, ...this.pending]);
    this.words = wordsOf(this.buf);
    this.base += this.i;
    this.i = 0;
    this.pending = [];
    this.pendingBytes = 0;
    for (;;) {
      if (this.state === State.NotStandard) return;
      if (this.i >= this.buf.length && (!this.final || this.state === State.Trailing)) return;
      const at = this.i;
      const before = this.state;
      try {
        this.step();
      } catch (err) {
        if (err !== INCOMPLETE) throw err;
        this.i = at;
        this.state = before;
        return;
      }
    }
  }

  private bad(what: string, at: number): InputError {
    return bad(this.source, what, this.base + at);
  }

  /** Skip whitespace; at the end of the bytes so far, wait for more (unless final). */
  private ws(): void {
    const b = this.buf;
    const n = b.length;
    let i = this.i;
    while (i < n) {
      const c = b[i]!;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
    if (i >= n && !this.final) throw INCOMPLETE;
  }

  /** Index of the closing quote of the string whose opening quote is at `i`. */
  private stringEnd(i: number): number {
    const j = closingQuote(this.buf, this.words, i);
    if (j >= 0) return j;
    if (!this.final) throw INCOMPLETE;
    throw this.bad('unterminated string', i);
  }

  /** Skip one JSON value starting at this.i (after whitespace); returns its end (exclusive). */
  private skipValue(): number {
    this.ws();
    const b = this.buf;
    const n = b.length;
    let i = this.i;
    const start = i;
    const c = b[i];
    if (c === Q) {
      this.i = this.stringEnd(i) + 1;
      return this.i;
    }
    if (c === LB || c === LS) {
      let depth = 0;
      while (i < n) {
        const d = b[i]!;
        if (d === Q) i = this.stringEnd(i);
        else if (d === LB || d === LS) depth++;
        else if (d === RB || d === RS) {
          depth--;
          if (depth === 0) {
            this.i = i + 1;
            return this.i;
          }
        }
        i++;
      }
      if (!this.final) throw INCOMPLETE;
      throw this.bad('truncated value', start);
    }
    // number / true / false / null
    while (i < n) {
      const d = b[i]!;
      if (d === COMMA || d === RB || d === RS || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
      i++;
    }
    if (i >= n && !this.final) throw INCOMPLETE;
    if (i === start) throw this.bad('expected a value', start);
    this.i = i;
    return i;
  }

  private parseJsonSlice(s: number, e: number): unknown {
    try {
      return JSON.parse(this.buf.toString('utf8', s, e));
    } catch (err) {
      throw this.bad((err as Error).message, s);
    }
  }

  /** `"key"` then ':' (whitespace allowed); returns [keyStart, keyEnd] (without quotes). */
  private keyColon(what: string): [number, number] {
    const b = this.buf;
    if (b[this.i] !== Q) throw this.bad(what, this.i);
    const ks = this.i + 1;
    const ke = this.stringEnd(this.i);
    this.i = ke + 1;
    this.ws();
    if (b[this.i] !== 0x3a) throw this.bad("expected ':'", this.i);
    this.i++;
    this.ws();
    return [ks, ke];
  }

  /** Parse one unit at this.i and set the next state. */
  private step(): void {
    const b = this.buf;
    switch (this.state) {
      case State.Start: {
        if (this.base === 0 && this.i === 0) {
          if (b.length < 3 && !this.final) throw INCOMPLETE;
          if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this.i = 3; // BOM
        }
        this.ws();
        if (b[this.i] !== LB) throw this.bad('expected a JSON object', this.i);
        this.i++;
        this.state = State.TopKey;
        return;
      }
      case State.TopKey: {
        this.ws();
        if (b[this.i] === RB) {
          this.i++;
          this.state = State.Trailing;
          return;
        }
        const [ks, ke] = this.keyColon('expected a key');
        const key = keyText(b, ks, ke);
        if ((key === 'packages' || key === 'packages.conda') && b[this.i] === LB) {
          this.topKeys++;
          this.sawPackages = true;
          this.section = key === 'packages.conda';
          this.i++;
          this.state = State.SecEntry;
          return;
        }
        if ((key === 'name' || key === 'version' || key === 'build') && !this.sawPackages) {
          this.state = State.NotStandard; // looks like a single record, not a repodata file
          return;
        }
        const s = this.i;
        const e = this.skipValue();
        this.topKeys++;
        if (key === 'info' || key === 'metadata') {
          const v = this.parseJsonSlice(s, e);
          if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
            if (key === 'info' || this.info === undefined) this.info = v as Record<string, unknown>;
            this.sawPackages = true;
          }
        } else if (key === 'removed') {
          const v = this.parseJsonSlice(s, e);
          if (Array.isArray(v)) this.removed = v.filter((x): x is string => typeof x === 'string');
        }
        this.state = State.TopAfter;
        return;
      }
      case State.TopAfter:
      case State.SecAfter: {
        this.ws();
        const top = this.state === State.TopAfter;
        if (b[this.i] === COMMA) {
          this.i++;
          this.state = top ? State.TopKey : State.SecEntry;
          return;
        }
        if (b[this.i] === RB) {
          this.i++;
          this.state = top ? State.Trailing : State.TopAfter;
          return;
        }
        throw this.bad("expected ',' or '}'", this.i);
      }
      case State.SecEntry: {
        this.ws();
        if (b[this.i] === RB) {
          this.i++;
          this.state = State.TopAfter;
          return;
        }
        const [ks, ke] = this.keyColon('expected a file name');
        if (b[this.i] !== LB) {
          // not a record (null, a string, ...): skipped like the full parser does
          this.skipValue();
        } else {
          const vs = this.i;
          const end = scanRecord(b, this.words, vs, nameAt);
          if (end < 0) {
            if (!this.final) throw INCOMPLETE;
            throw this.bad('truncated record', vs);
          }
          this.i = end;
          const ns = nameAt[0]!;
          if (ns >= 0) {
            const name = keyText(b, ns, nameAt[1]!);
            let k = this.nameOf.get(name);
            if (k === undefined) {
              k = this.names.length;
              this.nameOf.set(name, k);
              this.names.push(name);
              this.perName.push({ conda: [], tar: [] });
            }
            const slot = this.recs.n >> 2;
            const o = this.base;
            this.recs.push4(o + vs, o + end, o + ks, o + ke);
            (this.section ? this.perName[k]!.conda : this.perName[k]!.tar).push(slot);
          }
          // a record without a string name is dropped (the full parser throws on it when asked)
        }
        this.state = State.SecAfter;
        return;
      }
      case State.Trailing: {
        const n = b.length;
        let i = this.i;
        while (i < n) {
          const c = b[i]!;
          if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
          else throw this.bad('unexpected data after the JSON object', i);
        }
        this.i = i;
        return;
      }
      case State.NotStandard:
        return;
    }
  }

  private result(): SparseIndexData {
    const { names, perName } = this;
    const counts = new Uint32Array(names.length * 2);
    const table = new Uint32Array(this.recs.n);
    let o = 0;
    const src = this.recs.a;
    for (let k = 0; k < names.length; k++) {
      const p = perName[k]!;
      counts[2 * k] = p.conda.length;
      counts[2 * k + 1] = p.tar.length;
      for (const list of [p.conda, p.tar]) {
        for (const slot of list) {
          const at = slot * 4;
          table[o++] = src[at]!;
          table[o++] = src[at + 1]!;
          table[o++] = src[at + 2]!;
          table[o++] = src[at + 3]!;
        }
      }
    }
    return { size: this.size, info: this.info, removed: this.removed, names, counts, table };
  }
}

/**
 * Scan repodata JSON text held whole. Returns undefined when the text is not the standard shape (a
 * flat map or a single record), so the caller falls back to the full parser. Throws
 * E_REPODATA_INVALID on broken structure.
 */
export function scanRepoData(b: Buffer, source = 'repodata'): SparseIndexData | undefined {
  const s = new RepoDataScanner(source);
  s.push(b);
  return s.end();
}

const MAGIC = 'CGLSPARSE1\n';

/** Binary form: MAGIC, u32 header length, JSON header {size, info, removed, names}, counts, table. */
export function serialiseIndex(d: SparseIndexData): Buffer {
  const header = Buffer.from(JSON.stringify({ size: d.size, info: d.info ?? null, removed: d.removed, names: d.names }), 'utf8');
  const magic = Buffer.from(MAGIC, 'latin1');
  const pre = magic.length + 4 + header.length;
  const pad = (4 - (pre % 4)) % 4;
  const out = Buffer.alloc(pre + pad + 4 * (d.counts.length + d.table.length));
  magic.copy(out, 0);
  out.writeUInt32LE(header.length, magic.length);
  header.copy(out, magic.length + 4);
  let off = pre + pad;
  Buffer.from(d.counts.buffer, d.counts.byteOffset, d.counts.byteLength).copy(out, off);
  off += d.counts.byteLength;
  Buffer.from(d.table.buffer, d.table.byteOffset, d.table.byteLength).copy(out, off);
  return out;
}

/** The inverse of serialiseIndex; undefined for anything that is not a well-formed index. */
export function deserialiseIndex(buf: Buffer): SparseIndexData | undefined {
  try {
    const ml = MAGIC.length;
    if (buf.length < ml + 4 || buf.toString("latin1", 0, ml) !== MAGIC) return undefined;
    const hl = buf.readUInt32LE(ml);
    const h = JSON.parse(buf.toString('utf8', ml + 4, ml + 4 + hl)) as {
      size: number;
      info: Record<string, unknown> | null;
      removed: string[];
      names: string[];
    };
    const pre = ml + 4 + hl;
    const start = pre + ((4 - (pre % 4)) % 4);
    const nc = h.names.length * 2;
    const words = (buf.length - start) / 4;
    if (!Number.isInteger(words) || words < nc) return undefined;
    const all = new Uint32Array(words);
    Buffer.from(all.buffer).set(buf.subarray(start));
    const counts = all.subarray(0, nc);
    const table = all.subarray(nc);
    let total = 0;
    for (let k = 0; k < nc; k++) total += counts[k]!;
    if (total * 4 !== table.length) return undefined;
    return { size: h.size, info: h.info ?? undefined, removed: h.removed, names: h.names, counts, table };
  } catch {
    return undefined;
  }
}

/** Where the JSON text is: in memory, or a file read by byte range. */
export type SparseText = { buffer: Buffer } | { file: string };

/**
 * Records of one subdir by name, parsed on first use. Same contract as parse.ts's RepoDataIndex
 * (names, has, records, all), including `removed` and the .conda-over-.tar.bz2 preference.
 */
export class SparseRepoData {
  private readonly first = new Map<string, number>();
  private readonly starts: Uint32Array;
  private readonly built = new Map<string, RepoDataRecord[]>();
  private readonly ctx: RecordContext;
  private readonly removed: Set<string> | undefined;
  private fd: number | undefined;
  /** Records parsed so far (diagnostics / benchmarks). */
  parsed = 0;

  constructor(
    private readonly data: SparseIndexData,
    private readonly text: SparseText,
    options: ParseRepoDataOptions = {},
  ) {
    this.ctx = makeContext(options, data.info);
    this.removed = data.removed.length > 0 ? new Set(data.removed) : undefined;
    this.starts = new Uint32Array(data.names.length + 1);
    let s = 0;
    data.names.forEach((name, k) => {
      this.first.set(name, k);
      this.starts[k] = s;
      s += data.counts[2 * k]! + data.counts[2 * k + 1]!;
    });
    this.starts[data.names.length] = s;
  }

  get recordCount(): number {
    return this.data.table.length / 4;
  }

  names(): string[] {
    return [...this.first.keys()].sort();
  }

  has(name: string): boolean {
    return this.first.has(name);
  }

  records(name: string): RepoDataRecord[] {
    let recs = this.built.get(name);
    if (recs !== undefined) return recs;
    recs = [];
    const k = this.first.get(name);
    if (k !== undefined) {
      const t = this.data.table;
      const from = this.starts[k]!;
      const to = this.starts[k + 1]!;
      const nConda = this.data.counts[2 * k]!;
      // Read the name's records in few spans: within a section its records are close together
      // (keys are sorted by file name), the two sections are far apart.
      const spanOf = new Array<{ buf: Buffer; base: number }>(to - from);
      let r0 = from;
      while (r0 < to) {
        const lo = t[4 * r0 + 2]! - 1;
        let hi = t[4 * r0 + 1]!;
        let r1 = r0 + 1;
        while (r1 < to && t[4 * r1 + 2]! - 1 >= lo && t[4 * r1 + 2]! - 1 - hi < 65_536) {
          hi = Math.max(hi, t[4 * r1 + 1]!);
          r1++;
        }
        const span = { buf: this.read(lo, hi), base: lo };
        for (let r = r0; r < r1; r++) spanOf[r - from] = span;
        r0 = r1;
      }
      const stems = new Set<string>();
      for (let r = from; r < to; r++) {
        const { buf: chunk, base } = spanOf[r - from]!;
        const fn = keyText(chunk, t[4 * r + 2]! - base, t[4 * r + 3]! - base);
        if (this.removed?.has(fn)) continue;
        const isConda = r - from < nConda;
        if (isConda) stems.add(fn.endsWith('.conda') ? fn.slice(0, -6) : fn);
        else if (fn.endsWith('.tar.bz2') && stems.has(fn.slice(0, -8))) continue;
        let raw: Record<string, unknown>;
        try {
          raw = JSON.parse(chunk.toString('utf8', t[4 * r]! - base, t[4 * r + 1]! - base)) as Record<string, unknown>;
        } catch (err) {
          throw new InputError(`${this.ctx.source} is not valid JSON (record ${fn}): ${(err as Error).message}`, {
            code: 'E_REPODATA_INVALID',
            cause: err,
          });
        }
        this.parsed++;
        // issue 8: a record whose name/version/build/subdir/fn could form a path outside the
        // prefix is dropped here, when its name is first materialised (reported via onUnsafe).
        const rec = safeRecord(normaliseRecord(raw, fn, this.ctx), this.ctx);
        if (rec) recs.push(rec);
      }
    }
    this.built.set(name, recs);
    return recs;
  }

  all(): RepoDataRecord[] {
    return this.names().flatMap((n) => this.records(n));
  }

  /** Close the file (when file-backed). Records already parsed stay available. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private read(start: number, end: number): Buffer {
    if ('buffer' in this.text) return this.text.buffer.subarray(start, end);
    this.fd ??= openSync(this.text.file, 'r');
    const out = Buffer.allocUnsafe(end - start);
    let got = 0;
    while (got < out.length) {
      const k = readSync(this.fd, out, got, out.length - got, start + got);
      if (k === 0) throw new InputError(`${this.ctx.source}: cached repodata is shorter than its index`, { code: 'E_REPODATA_INVALID' });
      got += k;
    }
    return out;
  }
}
