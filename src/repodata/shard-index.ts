/**
 * The CEP-16 shard index (`repodata_shards.msgpack.zst`, decompressed): `{ info, version, shards:
 * { name: sha256 } }`, the sha256 as 32 bytes (conda-forge) or as a hex string.
 *
 * At conda-forge scale the index names ~35k packages (1.3 MB) and a lock looks up a few hundred of
 * them, so the index is walked once without making a string or a value per name: a hash table over
 * the names' UTF-8 bytes points at each name and at its 32 hash bytes in the decoded buffer; a
 * lookup hashes the name asked for and compares bytes, and the hex form is made only then.
 * Entries whose hash is neither 32 bytes nor 64 hex digits are ignored; of a repeated name the last
 * entry counts (as when the map is decoded whole).
 */
import { MsgpackError, walkMap } from './msgpack.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const encoder = new TextEncoder();

/** FNV-1a over bytes [start, end). */
function fnv(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/** name → sha256 hex of its shard. */
export class ShardHashes {
  /** Open-addressing table of entry number + 1 (0: empty), sized a power of two ≥ 2 × entries. */
  private readonly table: Int32Array;
  private readonly mask: number;

  constructor(
    private readonly buf: Uint8Array,
    /** Per entry: where its name's bytes start and how long they are, and where its 32 hash bytes are (-1: removed). */
    private readonly keyStart: Int32Array,
    private readonly keyLength: Int32Array,
    private readonly hashAt: Int32Array,
    private readonly count: number,
    /** Entries whose name is not a plain string key or whose hash is given as hex: name → hex, or null when removed. */
    private readonly other: Map<string, string | null>,
  ) {
    let size = 16;
    while (size < count * 2) size *= 2;
    this.table = new Int32Array(size);
    this.mask = size - 1;
    for (let e = 0; e < count; e++) {
      const slot = this.find(buf, keyStart[e]!, keyLength[e]!);
      const prev = this.table[slot]!;
      // a repeated name: the later entry replaces the earlier one
      if (prev !== 0) this.hashAt[prev - 1] = -1;
      this.table[slot] = e + 1;
    }
  }

  /** The slot holding the name with bytes [start, start+len) of `bytes`, or the empty slot where it would go. */
  private find(bytes: Uint8Array, start: number, len: number): number {
    const buf = this.buf;
    let slot = fnv(bytes, start, start + len) & this.mask;
    for (;;) {
      const e = this.table[slot]!;
      if (e === 0) return slot;
      const ks = this.keyStart[e - 1]!;
      if (this.keyLength[e - 1] === len) {
        let same = true;
        for (let i = 0; i < len; i++) {
          if (buf[ks + i] !== bytes[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return slot;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  private entryOf(name: string): number {
    const bytes = encoder.encode(name);
    const e = this.table[this.find(bytes, 0, bytes.length)]!;
    return e === 0 ? -1 : e - 1;
  }

  get(name: string): string | undefined {
    const o = this.other.get(name);
    if (o !== undefined) return o ?? undefined;
    const e = this.entryOf(name);
    const at = e < 0 ? -1 : this.hashAt[e]!;
    if (at < 0) return undefined;
    let s = '';
    for (let i = at; i < at + 32; i++) s += HEX[this.buf[i]!];
    return s;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The names, in index order (names given as hex or with unusual keys last). */
  names(): string[] {
    const out: string[] = [];
    const b = this.buf;
    for (let e = 0; e < this.count; e++) {
      if (this.hashAt[e]! < 0) continue;
      const name = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', this.keyStart[e]!, this.keyStart[e]! + this.keyLength[e]!);
      if (!this.other.has(name)) out.push(name);
    }
    for (const [name, hex] of this.other) if (hex !== null) out.push(name);
    return out;
  }

  get size(): number {
    return this.names().length;
  }
}

export interface ShardIndexData {
  /** The index's `info` map (`{}` when absent or not a map). */
  info: Record<string, unknown>;
  shards: ShardHashes;
}

/** A sha256 given as a 64-digit hex string (any case) or as 32 bytes → lowercase hex. */
export function sha256HexOf(v: unknown): string | undefined {
  if (typeof v === 'string') return /^[0-9a-f]{64}$/i.test(v) ? v.toLowerCase() : undefined;
  if (v instanceof Uint8Array && v.length === 32) return Buffer.from(v.buffer, v.byteOffset, 32).toString('hex');
  return undefined;
}

/**
 * Read a decompressed shard index. A top-level value that is not a map is an empty index (no
 * names); malformed MessagePack is a MsgpackError.
 */
export function decodeShardIndex(buf: Uint8Array): ShardIndexData {
  let info: Record<string, unknown> = {};
  let shards = new ShardHashes(buf, new Int32Array(0), new Int32Array(0), new Int32Array(0), 0, new Map());
  walkMap(buf, (key, entry) => {
    if (key === 'info') {
      const v = entry.decode();
      info = v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) ? (v as Record<string, unknown>) : {};
    } else if (key === 'shards') {
      // a repeated key replaces the earlier value, as when the map is decoded whole
      let cap = Math.max(1024, buf.length >> 5); // ≈ one entry per 45 bytes
      let keyStart = new Int32Array(cap);
      let keyLength = new Int32Array(cap);
      let hashAt = new Int32Array(cap);
      let count = 0;
      const other = new Map<string, string | null>();
      const isMap = entry.scanBinMap(
        32,
        (ks, kl, at) => {
          if (count === cap) {
            cap *= 2;
            const grow = (a: Int32Array) => {
              const g = new Int32Array(cap);
              g.set(a);
              return g;
            };
            keyStart = grow(keyStart);
            keyLength = grow(keyLength);
            hashAt = grow(hashAt);
          }
          keyStart[count] = ks;
          keyLength[count] = kl;
          hashAt[count] = at;
          count++;
          // a later plain entry of a name given before as hex (or removed) takes over
          if (other.size > 0) other.delete(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8', ks, ks + kl));
        },
        (name, value) => other.set(name, sha256HexOf(value) ?? null),
      );
      shards = isMap ? new ShardHashes(buf, keyStart, keyLength, hashAt, count, other) : new ShardHashes(buf, new Int32Array(0), new Int32Array(0), new Int32Array(0), 0, new Map());
    }
  });
  return { info, shards };
}

export { MsgpackError };
