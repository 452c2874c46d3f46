/**
 * The CEP-16 shard index (`repodata_shards.msgpack.zst`, decompressed): `{ info, version, shards:
 * { name: sha256 } }`, the sha256 as 32 bytes (conda-forge) or as a hex string.
 *
 * At conda-forge scale the index names ~35k packages (1.3 MB) and a lock looks up a few hundred of
 * them, so the index is walked once without building a value per name: each name maps to the offset
 * of its 32 hash bytes in the decoded buffer, and the hex form is made when the name is looked up.
 * Entries whose hash is neither 32 bytes nor 64 hex digits are ignored.
 */
import { MsgpackError, walkMap } from './msgpack.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** name → sha256 hex of its shard. */
export class ShardHashes {
  constructor(
    private readonly buf: Uint8Array,
    /** offset of the 32 hash bytes in `buf`, or the hex string itself */
    private readonly at: Map<string, number | string>,
  ) {}

  get(name: string): string | undefined {
    const v = this.at.get(name);
    if (typeof v !== 'number') return v;
    let s = '';
    for (let i = v; i < v + 32; i++) s += HEX[this.buf[i]!];
    return s;
  }

  has(name: string): boolean {
    return this.at.has(name);
  }

  /** The names, in index order. */
  names(): string[] {
    return [...this.at.keys()];
  }

  get size(): number {
    return this.at.size;
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
  let at = new Map<string, number | string>();
  walkMap(buf, (key, entry) => {
    if (key === 'info') {
      const v = entry.decode();
      info = v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) ? (v as Record<string, unknown>) : {};
    } else if (key === 'shards') {
      // a repeated key replaces the earlier value, as when the map is decoded whole
      const names = new Map<string, number | string>();
      const isMap = entry.walkMap((name, hash) => {
        const offset = hash.binAt(32);
        if (offset !== undefined) {
          names.set(name, offset);
          return;
        }
        const hex = sha256HexOf(hash.decode());
        if (hex !== undefined) names.set(name, hex);
        else names.delete(name);
      });
      at = isMap ? names : new Map();
    }
  });
  return { info, shards: new ShardHashes(buf, at) };
}

export { MsgpackError };
