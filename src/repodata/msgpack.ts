/**
 * A MessagePack decoder for CEP-16 sharded repodata (the shard index and the shards), our own so a
 * lock loads no general-purpose codec (msgpackr and its native add-on cost ~25–50 ms to load) and so
 * the shard index — 35k names at conda-forge scale — can be walked without building one object per
 * name (`walkMap`).
 *
 * Maps become plain objects (non-string keys as their string form; a `__proto__` key is an own
 * property, never the prototype), arrays arrays, bin a Uint8Array view of the input (no copy),
 * 64-bit integers numbers. Extension types are refused. Truncated input, a reserved byte (0xc1),
 * trailing bytes after the value and nesting deeper than MAX_DEPTH are MsgpackErrors.
 */

/** Malformed or unsupported MessagePack. */
export class MsgpackError extends Error {}

const MAX_DEPTH = 256;

/** Where a value starts and ends in the input. */
export interface Span {
  start: number;
  end: number;
}

class Reader {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new MsgpackError(`unexpected end of MessagePack data at byte ${this.pos}`);
  }

  /** Take `n` bytes: their offset, the position moved past them (truncation checked). */
  take(n: number): number {
    this.need(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    return this.view.getUint16(this.take(2));
  }

  u32(): number {
    return this.view.getUint32(this.take(4));
  }

  /** A string of `len` bytes at the current position. */
  str(len: number): string {
    const start = this.take(len);
    const b = this.buf;
    // Short ASCII strings (nearly every repodata string) without a call into the UTF-8 decoder, and
    // in one piece: a string concatenated char by char is a rope that every Map lookup must flatten.
    if (len <= 64) {
      for (let i = start; i < start + len; i++) if (b[i]! >= 0x80) return utf8(b, start, start + len);
      return String.fromCharCode.apply(null, b.subarray(start, start + len) as unknown as number[]);
    }
    return utf8(b, start, start + len);
  }

  /** The length of a str/bin/array/map given its first byte, or -1 when `b` is not of `kind`. */
  strLen(b: number): number {
    if ((b & 0xe0) === 0xa0) return b & 0x1f;
    if (b === 0xd9) return this.u8();
    if (b === 0xda) return this.u16();
    if (b === 0xdb) return this.u32();
    return -1;
  }

  mapLen(b: number): number {
    if ((b & 0xf0) === 0x80) return b & 0x0f;
    if (b === 0xde) return this.u16();
    if (b === 0xdf) return this.u32();
    return -1;
  }

  binLen(b: number): number {
    if (b === 0xc4) return this.u8();
    if (b === 0xc5) return this.u16();
    if (b === 0xc6) return this.u32();
    return -1;
  }

  value(depth: number): unknown {
    let at: number;
    const b = this.u8();
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    let n = this.mapLen(b);
    if (n >= 0) return this.map(n, depth);
    if ((b & 0xf0) === 0x90) return this.array(b & 0x0f, depth);
    n = this.strLen(b);
    if (n >= 0) return this.str(n);
    n = this.binLen(b);
    if (n >= 0) {
      at = this.take(n);
      return this.buf.subarray(at, at + n);
    }
    const v = this.view;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca:
        return v.getFloat32(this.take(4));
      case 0xcb:
        return v.getFloat64(this.take(8));
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        at = this.take(8);
        return v.getUint32(at) * 2 ** 32 + v.getUint32(at + 4);
      case 0xd0:
        return v.getInt8(this.take(1));
      case 0xd1:
        return v.getInt16(this.take(2));
      case 0xd2:
        return v.getInt32(this.take(4));
      case 0xd3:
        at = this.take(8);
        return v.getInt32(at) * 2 ** 32 + v.getUint32(at + 4);
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      default:
        // 0xc1 (never used), ext 0xc7-0xc9 and fixext 0xd4-0xd8
        throw new MsgpackError(b === 0xc1 ? `reserved byte 0xc1 at byte ${this.pos - 1}` : `unsupported MessagePack extension type at byte ${this.pos - 1}`);
    }
  }

  array(n: number, depth: number): unknown[] {
    if (depth >= MAX_DEPTH) throw new MsgpackError('MessagePack data nested too deeply');
    // every element takes at least one byte: a huge count in a short input is truncation, not an allocation
    this.need(n);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  /** A map key as a string (numbers and the like by their string form, as object keys are). */
  key(depth: number): string {
    const b = this.buf[this.pos];
    if (b !== undefined && (b & 0xe0) === 0xa0) {
      this.pos++;
      return this.str(b & 0x1f);
    }
    const k = this.value(depth + 1);
    if (k !== null && typeof k === 'object') throw new MsgpackError(`a map key at byte ${this.pos} is not a string or number`);
    return String(k);
  }

  map(n: number, depth: number): Record<string, unknown> {
    if (depth >= MAX_DEPTH) throw new MsgpackError('MessagePack data nested too deeply');
    this.need(n * 2);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = this.key(depth);
      const v = this.value(depth + 1);
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
    }
    return out;
  }
}

function utf8(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', start, end);
}

function atEnd(r: Reader): void {
  if (r.pos !== r.buf.length) throw new MsgpackError(`${r.buf.length - r.pos} bytes after the end of the MessagePack value`);
}

/** Decode one MessagePack value that fills `buf` exactly. */
export function decodeMsgpack(buf: Uint8Array): unknown {
  const r = new Reader(buf);
  const v = r.value(0);
  atEnd(r);
  return v;
}

/**
 * Walk a top-level map (which must fill `buf`) without decoding it: `onEntry(key, reader)` is
 * called per entry with the reader at the value; it decodes the value (`entry.decode()`) or walks
 * a nested map (`entry.walkMap(...)`), and a value it leaves alone is skipped. Returns false when the
 * top-level value is not a map (nothing is called).
 */
export function walkMap(buf: Uint8Array, onEntry: (key: string, entry: MapEntry) => void): boolean {
  const r = new Reader(buf);
  const n = r.mapLen(r.u8());
  if (n < 0) return false;
  walkEntries(r, n, 0, onEntry);
  atEnd(r);
  return true;
}

function walkEntries(r: Reader, n: number, depth: number, onEntry: (key: string, entry: MapEntry) => void): void {
  r.need(n * 2);
  for (let i = 0; i < n; i++) {
    const key = r.key(depth);
    const entry = new MapEntry(r, depth + 1);
    onEntry(key, entry);
    if (!entry.consumed) r.value(depth + 1);
  }
}

/** The value of one map entry during `walkMap`. */
export class MapEntry {
  consumed = false;
  constructor(
    private readonly r: Reader,
    private readonly depth: number,
  ) {}

  private take(): void {
    if (this.consumed) throw new Error('internal error: a MessagePack map entry was read twice');
    this.consumed = true;
  }

  /** The value, decoded. */
  decode(): unknown {
    this.take();
    return this.r.value(this.depth);
  }

  /**
   * When the value is a map: for each entry whose key is a string and whose value is a bin of
   * `length` bytes, `onBin(keyStart, keyLength, offset)` with where the key's UTF-8 bytes and the
   * bin's bytes are in the input (no string is made); for any other entry `onOther(key, value)`, the
   * key as a string and the value decoded. Returns true; false (nothing read) when not a map. The
   * tight loop for the shard index's 35k name → hash entries.
   */
  scanBinMap(
    length: number,
    onBin: (keyStart: number, keyLength: number, offset: number) => void,
    onOther: (key: string, value: unknown) => void,
  ): boolean {
    const n = this.openMap();
    if (n < 0) return false;
    const r = this.r;
    r.need(n * 2);
    const buf = r.buf;
    for (let i = 0; i < n; i++) {
      const at = r.pos;
      const kb = buf[at];
      let keyLen = -1;
      if (kb !== undefined) {
        r.pos++;
        keyLen = r.strLen(kb);
        if (keyLen < 0) r.pos = at;
      }
      if (keyLen < 0) {
        onOther(r.key(this.depth), r.value(this.depth + 1));
        continue;
      }
      const keyStart = r.take(keyLen);
      const v = r.pos;
      if (length < 256 && buf[v] === 0xc4 && buf[v + 1] === length) {
        r.pos = v + 2;
        r.take(length);
        onBin(keyStart, keyLen, v + 2);
      } else {
        r.pos = keyStart;
        const key = r.str(keyLen);
        onOther(key, r.value(this.depth + 1));
      }
    }
    return true;
  }

  /** When the value is a map: walk its entries (see walkMap) and return true; else false, nothing read. */
  walkMap(onEntry: (key: string, entry: MapEntry) => void): boolean {
    const n = this.openMap();
    if (n < 0) return false;
    walkEntries(this.r, n, this.depth, onEntry);
    return true;
  }

  /** When the value is a map: take it and return its entry count (the reader after the header); else -1, nothing read. */
  private openMap(): number {
    const r = this.r;
    const start = r.pos;
    const n = r.buf[start] === undefined ? -1 : r.mapLen(r.u8());
    if (n < 0) {
      r.pos = start;
      return -1;
    }
    if (this.depth >= MAX_DEPTH) throw new MsgpackError('MessagePack data nested too deeply');
    this.take();
    return n;
  }
}
