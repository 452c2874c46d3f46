/**
 * On-disk cache for repodata responses and CEP-16 shards.
 *
 * Layout under the cache directory:
 * - `repodata/<sha256(redacted url)>.json`: metadata `{ url (redacted), status, etag, lastModified, time, size }`;
 * - `repodata/<sha256(redacted url)>.bin`: the response body exactly as served (still compressed);
 * - `shards/<sha256>.msgpack`: content-addressed CEP-16 shards stored decompressed (named by the
 *   sha256 of the compressed shard the index lists, which was verified when it was downloaded), so a
 *   warm lock decompresses nothing; the file is the sha256 of the decompressed bytes (32 bytes) and
 *   then those bytes, checked when read (a torn write is a miss, not a decode error);
 * - `shards/<sha256>.msgpack.zst`: a shard as served, as earlier versions of this cache kept it (still
 *   read: verified against its name, then stored decompressed as above);
 * - a shard index (repodata_shards.msgpack.zst) is kept like other raw bodies, but decompressed once
 *   it has been read, so revalidating it (304) costs no zstd either;
 * - `repodata/.<key>.<random>.zst.tmp`: a new repodata.json.zst body spooled to disk while it waits to
 *   be decoded (`spoolPath`), removed once decoded;
 * - full repodata (repodata.json / .json.zst) is stored decoded, so a warm lock neither decompresses
 *   nor parses it: `repodata/<key>.<gen>.text` (the JSON text) and `repodata/<key>.<gen>.index`
 *   (its name index, sparse.ts), named by the metadata's `indexed.gen`. A new copy gets a new
 *   generation and the metadata is renamed into place last, so a reader sees the old pair or the new
 *   one, never a mix; the old pair is deleted afterwards.
 * Every write goes to a temp file in the same directory and is renamed into place (src/fs/atomic.ts;
 * without fsync: a torn entry after a crash fails its size or hash check and is a miss).
 * `prune()` keeps the decoded repodata under a size bound (least recently used first).
 * URLs are redacted before they are hashed or written, so tokens never reach the disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { withAtomicFile, writeFileAtomic } from '../fs/atomic.js';
import { redactUrl } from '../net/redact.js';
import { deserialiseIndex, serialiseIndex, type SparseIndexData } from './sparse.js';

export interface CacheMeta {
  /** Redacted URL (never carries a token). */
  url: string;
  /** 200 (body cached) or 404 (the server said the file does not exist). */
  status: 200 | 404;
  etag?: string;
  lastModified?: string;
  /** When the entry was last fetched or revalidated (ms since epoch). */
  time: number;
  /** Body size in bytes (status 200). */
  size?: number;
  /** Set when the entry is stored decoded (JSON text + name index) instead of as a raw body. */
  indexed?: { gen: string; jsonSize: number; hasIndex: boolean };
}

/** A decoded repodata entry: the JSON text on disk and, for standard repodata, its name index. */
export interface IndexedEntry {
  meta: CacheMeta;
  jsonFile: string;
  /** undefined when the file is not standard repodata (it is then parsed in full). */
  index: SparseIndexData | undefined;
}

/** Default bound for decoded repodata on disk: $CONDA_GO_LOCK_CACHE_MAX_MB, else 8 GiB. */
export function defaultCacheMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.CONDA_GO_LOCK_CACHE_MAX_MB);
  return Number.isFinite(mb) && mb > 0 ? mb * 2 ** 20 : 8 * 2 ** 30;
}

export interface CacheEntry {
  meta: CacheMeta;
  /** Present for status 200. */
  body?: Buffer;
}

/** `$CONDA_GO_LOCK_CACHE`, else `$XDG_CACHE_HOME/conda-go-lock`, else `~/.cache/conda-go-lock`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CONDA_GO_LOCK_CACHE) return env.CONDA_GO_LOCK_CACHE;
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'conda-go-lock');
}

/** The cache key of a URL: sha256 (hex) of its redacted form. */
export function cacheKey(url: string): string {
  return createHash('sha256').update(redactUrl(url)).digest('hex');
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, data, { durable: false });
}

/** How old an unreferenced generation or a temp file in repodata/ must be to be taken for a leftover. */
const LEFTOVER_AGE_MS = 6 * 60 * 60 * 1000;

export class RepodataCache {
  constructor(
    readonly dir: string = defaultCacheDir(),
    readonly maxBytes: number = defaultCacheMaxBytes(),
  ) {}

  private paths(url: string): { meta: string; body: string } {
    const key = cacheKey(url);
    return { meta: join(this.dir, 'repodata', `${key}.json`), body: join(this.dir, 'repodata', `${key}.bin`) };
  }

  /** The cached entry for `url`, or undefined when absent or inconsistent. */
  async get(url: string): Promise<CacheEntry | undefined> {
    const p = this.paths(url);
    let meta: CacheMeta;
    try {
      meta = JSON.parse(await readFile(p.meta, 'utf8')) as CacheMeta;
    } catch {
      return undefined;
    }
    if (meta.status === 404) return { meta };
    try {
      const body = await readFile(p.body);
      if (meta.size !== undefined && body.length !== meta.size) return undefined;
      return { meta, body };
    } catch {
      return undefined;
    }
  }

  /** Store a 200 response body with its validators. */
  async put(url: string, body: Uint8Array, validators: { etag?: string; lastModified?: string }): Promise<void> {
    const p = this.paths(url);
    const meta: CacheMeta = { url: redactUrl(url), status: 200, time: Date.now(), size: body.length };
    if (validators.etag) meta.etag = validators.etag;
    if (validators.lastModified) meta.lastModified = validators.lastModified;
    await writeAtomic(p.body, body);
    await writeAtomic(p.meta, JSON.stringify(meta, null, 1));
  }

  /**
   * Replace a stored 200 body by another form of the same response (a shard index, decompressed),
   * keeping its validators and time; only the metadata is read. Body first, then the metadata with the
   * new size: a crash in between leaves a size mismatch, i.e. a miss.
   */
  async replaceBody(url: string, body: Uint8Array): Promise<void> {
    const p = this.paths(url);
    const meta = await this.readMeta(p.meta);
    if (meta?.status !== 200) return;
    await writeAtomic(p.body, body);
    await writeAtomic(p.meta, JSON.stringify({ ...meta, size: body.length }, null, 1));
  }

  /** Remember that the server answered 404 (lets offline runs know a subdir does not exist). */
  async putNotFound(url: string): Promise<void> {
    const p = this.paths(url);
    const meta: CacheMeta = { url: redactUrl(url), status: 404, time: Date.now() };
    await writeAtomic(p.meta, JSON.stringify(meta, null, 1));
    await unlink(p.body).catch(() => undefined);
  }

  /** Forget an entry (e.g. a body that turned out to be unreadable), so the next fetch is unconditional. */
  async remove(url: string): Promise<void> {
    const p = this.paths(url);
    const old = await this.readMeta(p.meta);
    await unlink(p.meta).catch(() => undefined);
    await unlink(p.body).catch(() => undefined);
    if (old?.indexed) await this.removeGen(url, old.indexed.gen);
  }

  private async readMeta(file: string): Promise<CacheMeta | undefined> {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as CacheMeta;
    } catch {
      return undefined;
    }
  }

  private genPaths(url: string, gen: string): { json: string; idx: string } {
    const base = join(this.dir, 'repodata', `${cacheKey(url)}.${gen}`);
    return { json: `${base}.text`, idx: `${base}.index` };
  }

  private async removeGen(url: string, gen: string): Promise<void> {
    const g = this.genPaths(url, gen);
    await unlink(g.json).catch(() => undefined);
    await unlink(g.idx).catch(() => undefined);
  }

  /**
   * The decoded entry for `url`, or undefined when absent, stored raw, or inconsistent (a JSON file
   * of the wrong size, an index that does not belong to it). A 404 entry comes back with no file.
   */
  async getIndexed(url: string): Promise<IndexedEntry | { meta: CacheMeta; jsonFile?: undefined } | undefined> {
    const meta = await this.readMeta(this.paths(url).meta);
    if (!meta) return undefined;
    if (meta.status === 404) return { meta };
    if (!meta.indexed) return undefined;
    const g = this.genPaths(url, meta.indexed.gen);
    try {
      const st = await stat(g.json);
      if (st.size !== meta.indexed.jsonSize) return undefined;
      if (!meta.indexed.hasIndex) return { meta, jsonFile: g.json, index: undefined };
      const index = deserialiseIndex(await readFile(g.idx));
      if (!index || index.size !== st.size) return undefined;
      return { meta, jsonFile: g.json, index };
    } catch {
      return undefined;
    }
  }

  /**
   * Store decoded repodata for `url`: the JSON text and (standard repodata) its name index, under a
   * new generation; the metadata is written last, then the previous generation is deleted and the
   * cache pruned to its bound. Returns the JSON file's path.
   */
  async putIndexed(
    url: string,
    json: Uint8Array,
    index: SparseIndexData | undefined,
    validators: { etag?: string; lastModified?: string },
  ): Promise<string> {
    return (await this.putIndexedFrom(
      url,
      async (tmp) => {
        await writeFile(tmp, json, { flag: 'wx' });
        return { size: json.length, index };
      },
      validators,
    )).file;
  }

  /**
   * Like putIndexed, but `fill` writes the JSON text to the temp file it is given (e.g. straight out
   * of the zstd decoder, scanning it on the way) and returns its size and index. Whatever `fill`
   * throws leaves the cache as it was. Returns the JSON file's path and the index.
   */
  async putIndexedFrom(
    url: string,
    fill: (tmpFile: string) => Promise<{ size: number; index: SparseIndexData | undefined }>,
    validators: { etag?: string; lastModified?: string },
  ): Promise<{ file: string; index: SparseIndexData | undefined }> {
    const p = this.paths(url);
    const old = await this.readMeta(p.meta);
    const gen = randomBytes(6).toString('hex');
    const g = this.genPaths(url, gen);
    const replaced: string[] = [];
    let index: SparseIndexData | undefined;
    try {
      await mkdir(dirname(g.json), { recursive: true });
      const filled = await withAtomicFile(g.json, fill, { durable: false });
      index = filled.index;
      const size = filled.size;
      const meta: CacheMeta = {
        url: redactUrl(url),
        status: 200,
        time: Date.now(),
        indexed: { gen, jsonSize: size, hasIndex: index !== undefined },
      };
      if (validators.etag) meta.etag = validators.etag;
      if (validators.lastModified) meta.lastModified = validators.lastModified;
      if (index) await writeAtomic(g.idx, serialiseIndex(index));
      // Another process may have stored this URL while ours downloaded (minutes, for a big channel):
      // its generation is replaced too, not left on disk unreferenced.
      const latest = await this.readMeta(p.meta);
      if (latest?.indexed && latest.indexed.gen !== old?.indexed?.gen) replaced.push(latest.indexed.gen);
      await writeAtomic(p.meta, JSON.stringify(meta, null, 1));
    } catch (err) {
      await this.removeGen(url, gen);
      throw err;
    }
    await unlink(p.body).catch(() => undefined);
    if (old?.indexed) replaced.push(old.indexed.gen);
    for (const r of new Set(replaced)) if (r !== gen) await this.removeGen(url, r);
    await this.prune().catch(() => undefined);
    return { file: g.json, index };
  }

  /**
   * Keep decoded repodata (the large files) under `maxBytes`: delete whole entries, least recently
   * fetched or revalidated first. Raw bodies and shards are small and left alone.
   */
  async prune(maxBytes: number = this.maxBytes, now = Date.now()): Promise<void> {
    const dir = join(this.dir, 'repodata');
    const files = await readdir(dir).catch(() => [] as string[]);
    const entries: Array<{ url: string; time: number; bytes: number }> = [];
    const referenced = new Set<string>();
    let total = 0;
    for (const f of files) {
      if (!/^[0-9a-f]{64}\.json$/.test(f)) continue;
      const meta = await this.readMeta(join(dir, f));
      if (!meta?.indexed) continue;
      referenced.add(`${f.slice(0, 64)}.${meta.indexed.gen}`);
      const g = this.genPaths(meta.url, meta.indexed.gen);
      let bytes = 0;
      for (const file of [g.json, g.idx]) bytes += await stat(file).then((s) => s.size, () => 0);
      entries.push({ url: meta.url, time: meta.time, bytes });
      total += bytes;
    }
    // Leftovers of runs that were killed (a temp of a streamed download, a generation written but never
    // committed) or lost a race: removed once they are old enough that no live run can still be writing them.
    for (const f of files) {
      const gen = /^([0-9a-f]{64}\.[0-9a-f]{12})\.(?:text|index)$/.exec(f);
      const temp = /^\..+\.tmp$/.test(f);
      if ((!gen || referenced.has(gen[1]!)) && !temp) continue;
      const st = await stat(join(dir, f)).catch(() => undefined);
      if (st && now - st.mtimeMs > LEFTOVER_AGE_MS) await unlink(join(dir, f)).catch(() => undefined);
    }
    entries.sort((a, b) => a.time - b.time);
    // the newest entry (usually the one just written, possibly being read) always stays
    for (const e of entries.slice(0, -1)) {
      if (total <= maxBytes) break;
      await this.remove(e.url);
      total -= e.bytes;
    }
  }

  /**
   * A fresh path for spooling a compressed body of `url` to disk before it is decoded
   * (`repodata/.<key>.<random>.zst.tmp`, the directory made): the caller creates the file and removes
   * it; one left by a killed run is a temp file that `prune()` removes once it is 6 h old.
   */
  async spoolPath(url: string): Promise<string> {
    const dir = join(this.dir, 'repodata');
    await mkdir(dir, { recursive: true });
    return join(dir, `.${cacheKey(url)}.${randomBytes(6).toString('hex')}.zst.tmp`);
  }

  /** Mark a cached entry as revalidated now (after a 304). */
  async touch(url: string, meta: CacheMeta): Promise<void> {
    await writeAtomic(this.paths(url).meta, JSON.stringify({ ...meta, time: Date.now() }, null, 1));
  }

  private shardPath(sha256: string): string {
    return join(this.dir, 'shards', `${sha256}.msgpack.zst`);
  }

  /** A content-addressed blob, only if its bytes still hash to `sha256`. */
  async getShard(sha256: string): Promise<Buffer | undefined> {
    try {
      const body = await readFile(this.shardPath(sha256));
      return sha256Hex(body) === sha256 ? body : undefined;
    } catch {
      return undefined;
    }
  }

  private decodedShardPath(sha256: string): string {
    return join(this.dir, 'shards', `${sha256}.msgpack`);
  }

  /** A shard stored decompressed (putDecodedShard), if its bytes are whole. */
  async getDecodedShard(sha256: string): Promise<Buffer | undefined> {
    try {
      const file = await readFile(this.decodedShardPath(sha256));
      if (file.length < 32) return undefined;
      const body = file.subarray(32);
      return createHash('sha256').update(body).digest().equals(file.subarray(0, 32)) ? body : undefined;
    } catch {
      return undefined;
    }
  }

  /** Store the decompressed bytes of the (verified) shard whose compressed sha256 is `sha256`. */
  async putDecodedShard(sha256: string, decoded: Uint8Array): Promise<void> {
    await writeAtomic(this.decodedShardPath(sha256), Buffer.concat([createHash('sha256').update(decoded).digest(), decoded]));
  }
}
