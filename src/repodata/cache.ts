/**
 * On-disk cache for repodata responses and CEP-16 shards.
 *
 * Layout under the cache directory:
 * - `repodata/<sha256(redacted url)>.json`: metadata `{ url (redacted), status, etag, lastModified, time, size }`;
 * - `repodata/<sha256(redacted url)>.bin`: the response body exactly as served (still compressed);
 * - `shards/<sha256>.msgpack.zst`: content-addressed shards (valid forever, verified when read).
 * Every write goes to a temp file in the same directory and is renamed into place (src/fs/atomic.ts;
 * without fsync: a torn entry after a crash fails its size or hash check and is a miss).
 * URLs are redacted before they are hashed or written, so tokens never reach the disk.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { redactUrl } from '../net/redact.js';

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

export class RepodataCache {
  constructor(readonly dir: string = defaultCacheDir()) {}

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
    await unlink(p.meta).catch(() => undefined);
    await unlink(p.body).catch(() => undefined);
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

  async putShard(sha256: string, body: Uint8Array): Promise<void> {
    await writeAtomic(this.shardPath(sha256), body);
  }
}
