/**
 * The repodata gateway: fetch, cache and parse the records the solver needs.
 *
 * For every channel × (subdirs + noarch) it tries, in order:
 *   1. `repodata_shards.msgpack.zst` (CEP-16): only the shards of names reachable from the specs are
 *      fetched — the records' `depends` are followed transitively; each shard is verified against
 *      the sha256 the index names it by;
 *   2. `repodata.json.zst`;
 *   3. `repodata.json`.
 * A 404 moves on to the next; any other failure is a NetworkError. A subdir that has none of them is
 * empty, but a channel with no subdir at all is a "channel not found" NetworkError.
 *
 * Responses are cached on disk keyed by URL and revalidated with ETag / Last-Modified (304 → cache)
 * through the one cached GET, src/repodata/cached-fetch.ts;
 * shards are content-addressed and never revalidated. `offline` uses the cache only.
 * `file://` channels are read from disk directly (no cache).
 */
import { readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import { onExitCleanup } from '../cleanup.js';
import { InputError, IntegrityError, NetworkError, OfflineCacheMissError } from '../errors.js';
import type { RepoDataRecord } from '../conda/record.js';
import { HttpClient, isNotFound } from '../net/http.js';
import { silentProgress, type ProgressReporter } from '../net/progress.js';
import { redactUrl } from '../net/redact.js';
import { escapeControl } from '../escape.js';
import { RepodataCache, defaultCacheDir, sha256Hex, type CacheMeta, type IndexedEntry } from './cache.js';
import { CachedFetch, type Fetched } from './cached-fetch.js';
import { makeContext, normaliseRecord, RepoDataIndex, safeRecord, type ParseRepoDataOptions, type RecordContext } from './parse.js';
import { RepoDataScanner, scanRepoData, SparseRepoData, type SparseIndexData } from './sparse.js';
import { decodeMsgpack } from './msgpack.js';
import { decodeShardIndex, type ShardHashes } from './shard-index.js';
import { decompressZstd, isZstd, zstdChunks, zstdFileChunks, ZstdError } from '../compress/zstd.js';

/** What the gateway needs from a channel (src/conda/channel.ts `Channel` fits). */
export interface GatewayChannel {
  /** Token-free channel URL without trailing slash. */
  readonly baseUrl: string;
  /** Subdir URL, with token / credentials when configured, without trailing slash. */
  subdirUrl(subdir: string): string;
  readonly name?: string;
}

/** A spec as a MatchSpec (only `.name` is used here) or a match-spec string. */
export type SpecLike = string | { readonly name: string };

export interface GatewayOptions {
  http?: HttpClient;
  /** Default: defaultCacheDir() ($CONDA_GO_LOCK_CACHE, $XDG_CACHE_HOME/conda-go-lock, ~/.cache/conda-go-lock). */
  cacheDir?: string;
  /** Use only the cache; a missing entry is an OfflineCacheMissError naming the URL. */
  offline?: boolean;
  /** Parallel requests when the gateway creates its own HttpClient (default 8). */
  concurrency?: number;
  progress?: ProgressReporter;
  /** Try CEP-16 sharded repodata first (default true). */
  shards?: boolean;
  /** Try repodata.json.zst before repodata.json (default true). */
  zst?: boolean;
}

export interface QueryResult {
  /** Records of every reachable name: by channel order, then subdir order (noarch last), then name. */
  records: RepoDataRecord[];
  /** Sorted unique names reachable from the specs that have at least one record. */
  names: string[];
  /** Sorted names that were looked for (specs or dependencies) but no channel/subdir has. */
  missing: string[];
}

/** Which file a subdir's records came from. */
export type SourceKind = 'shards' | 'repodata.json.zst' | 'repodata.json' | 'missing';

export const SHARDS_INDEX = 'repodata_shards.msgpack.zst';
const FULL_FILES = ['repodata.json.zst', 'repodata.json'] as const;

/** Decompressed repodata is written to the cache file in batches of this many bytes. */
const WRITE_BATCH = 4 * 2 ** 20;

/** The package name of a dependency / match spec string: `python >=3.9` → `python`, `conda-forge::numpy` → `numpy`. */
export function specName(spec: string): string {
  let s = spec.trim();
  const ns = s.lastIndexOf('::');
  if (ns >= 0) s = s.slice(ns + 2);
  let end = 0;
  while (end < s.length) {
    const c = s.charCodeAt(end);
    // stop at space, [ = < > ! ~ , | ( *
    if (c === 32 || c === 91 || c === 61 || c === 60 || c === 62 || c === 33 || c === 126 || c === 44 || c === 124 || c === 40 || c === 9) break;
    end++;
  }
  return s.slice(0, end).toLowerCase();
}

interface Source {
  readonly kind: SourceKind;
  readonly channel: GatewayChannel;
  readonly subdir: string;
  recordsFor(name: string): Promise<RepoDataRecord[]> | RepoDataRecord[];
  all(): Promise<RepoDataRecord[]>;
}

/** Records by name: the sparse index (standard repodata) or the full parser (other shapes). */
type NameIndex = Pick<RepoDataIndex, 'records' | 'all'>;

/** A record of the cached copy of `url` could not be read: the copy is dropped and fetched again. */
class CachedCopyUnreadable extends Error {
  constructor(
    readonly url: string,
    readonly reason: Error,
  ) {
    super(`cached repodata for ${redactUrl(url)} is unreadable: ${reason.message}`);
  }
}

class FullSource implements Source {
  constructor(
    readonly kind: SourceKind,
    readonly channel: GatewayChannel,
    readonly subdir: string,
    private readonly index: NameIndex,
    /** Set when the records come from the cache's copy of this URL (not a body fetched now). */
    private readonly cachedUrl?: string,
  ) {}
  recordsFor(name: string): RepoDataRecord[] {
    return this.guard(() => this.index.records(name));
  }
  async all(): Promise<RepoDataRecord[]> {
    return this.guard(() => this.index.all());
  }
  private guard<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (this.cachedUrl !== undefined && err instanceof Error) throw new CachedCopyUnreadable(this.cachedUrl, err);
      throw err;
    }
  }
}

/** A streamed body failed (the transfer, or its JSON): thrown as `reason`, never taken for a cache failure. */
class BodyFailure extends Error {
  constructor(readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}

/** The decoded cache could not be written while a body was streamed into it. */
class CacheUnwritable extends Error {
  constructor(readonly reason: unknown) {
    super(`the repodata cache cannot be written: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
}

/** The sparse index when the text is standard repodata, else the full parser. */
function nameIndex(json: Buffer, opts: ParseRepoDataOptions): NameIndex {
  const sparse = scanRepoData(json, opts.source);
  return sparse ? new SparseRepoData(sparse, { buffer: json }, opts) : new RepoDataIndex(json, opts);
}

class MissingSource implements Source {
  readonly kind = 'missing' as const;
  constructor(
    readonly channel: GatewayChannel,
    readonly subdir: string,
  ) {}
  recordsFor(): RepoDataRecord[] {
    return [];
  }
  async all(): Promise<RepoDataRecord[]> {
    return [];
  }
}

interface ShardIndex {
  /** name → sha256 hex */
  shards: ShardHashes;
  /** Directory URL (with token) the shard files live under, ending in '/'. */
  shardsBase: string;
  ctx: RecordContext;
}

class ShardSource implements Source {
  readonly kind = 'shards' as const;
  private readonly memo = new Map<string, Promise<RepoDataRecord[]>>();
  constructor(
    readonly channel: GatewayChannel,
    readonly subdir: string,
    private readonly index: ShardIndex,
    /** The shard's msgpack bytes (decompressed), verified against `sha256`. */
    private readonly fetchShard: (url: string, sha256: string, name: string) => Promise<Buffer>,
  ) {}

  recordsFor(name: string): Promise<RepoDataRecord[]> | RepoDataRecord[] {
    const sha = this.index.shards.get(name);
    if (sha === undefined) return [];
    let p = this.memo.get(name);
    if (!p) {
      p = this.load(name, sha);
      this.memo.set(name, p);
    }
    return p;
  }

  private async load(name: string, sha: string): Promise<RepoDataRecord[]> {
    const url = `${this.index.shardsBase}${sha}.msgpack.zst`;
    const bytes = await this.fetchShard(url, sha, name);
    let shard: unknown;
    try {
      shard = decodeMsgpack(bytes);
    } catch (err) {
      throw new IntegrityError(`shard for '${name}' at ${redactUrl(url)} cannot be decoded: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return recordsFromShard(shard, this.index.ctx, name);
  }

  async all(): Promise<RepoDataRecord[]> {
    const names = this.index.shards.names().sort();
    const lists = await Promise.all(names.map((n) => this.recordsFor(n)));
    return lists.flat();
  }
}

function recordsFromShard(shard: unknown, ctx: RecordContext, name: string): RepoDataRecord[] {
  if (shard === null || typeof shard !== 'object') return [];
  const obj = shard as Record<string, unknown>;
  const out: RepoDataRecord[] = [];
  const conda = obj['packages.conda'] as Record<string, Record<string, unknown>> | undefined;
  const tar = obj.packages as Record<string, Record<string, unknown>> | undefined;
  const removed = Array.isArray(obj.removed) ? new Set(obj.removed as string[]) : undefined;
  const stems = new Set<string>();
  if (conda && typeof conda === 'object') {
    for (const fn in conda) {
      if (removed?.has(fn)) continue;
      stems.add(fn.replace(/\.conda$/, ''));
      const rec = safeRecord(normaliseRecord(conda[fn]!, fn, ctx), ctx);
      if (rec) out.push(rec);
    }
  }
  if (tar && typeof tar === 'object') {
    for (const fn in tar) {
      if (removed?.has(fn)) continue;
      if (fn.endsWith('.tar.bz2') && stems.has(fn.slice(0, -8))) continue;
      const rec = safeRecord(normaliseRecord(tar[fn]!, fn, ctx), ctx);
      if (rec) out.push(rec);
    }
  }
  // A shard only holds its own name; ignore anything else defensively.
  return out.filter((r) => r.name === name);
}

function withSlash(u: string): string {
  return u.endsWith('/') ? u : `${u}/`;
}

function channelLabel(ch: GatewayChannel): string {
  return redactUrl(ch.name && !ch.name.includes('://') ? ch.name : ch.baseUrl);
}

/**
 * Write `pieces` (a streamed body, a decoder's output) to the new file `tmp` in WRITE_BATCH batches,
 * scanning each piece on the way; returns the size and the name index. Whatever reading or scanning
 * the pieces throws goes out through `failure` (a write error as it is).
 */
async function writeScanned(
  tmp: string,
  pieces: AsyncIterable<Buffer>,
  source: string | undefined,
  failure: (err: unknown) => unknown,
): Promise<{ size: number; index: SparseIndexData | undefined }> {
  const scanner = new RepoDataScanner(source);
  await writePieces(tmp, pieces, failure, (piece) => scanner.push(piece));
  try {
    return { size: scanner.size, index: scanner.end() };
  } catch (err) {
    throw failure(err);
  }
}

/**
 * Write `pieces` to the new file `tmp` in WRITE_BATCH batches, handing each to `onPiece` first;
 * returns the size. What reading the pieces or `onPiece` throws goes out through `failure` (a write
 * error as it is). Stopping early closes the source (a decoder child, a socket), as `for await` would.
 */
async function writePieces(
  tmp: string,
  pieces: AsyncIterable<Buffer>,
  failure: (err: unknown) => unknown,
  onPiece?: (piece: Buffer) => void,
): Promise<number> {
  const fh = await open(tmp, 'wx');
  const it = pieces[Symbol.asyncIterator]();
  let done = false;
  let size = 0;
  try {
    let batch: Buffer[] = [];
    let batched = 0;
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await it.next();
        if ((done = next.done === true)) break;
        onPiece?.(next.value);
      } catch (err) {
        throw failure(err);
      }
      batch.push(next.value);
      batched += next.value.length;
      size += next.value.length;
      if (batched >= WRITE_BATCH) {
        await fh.writev(batch);
        batch = [];
        batched = 0;
      }
    }
    if (batched > 0) await fh.writev(batch);
    return size;
  } finally {
    if (!done) await it.return?.().catch(() => undefined);
    await fh.close();
  }
}

/** A cached file that is not standard repodata (no name index): parsed in full when first asked. */
class LazyFullIndex implements NameIndex {
  private index: RepoDataIndex | undefined;
  constructor(
    private readonly file: string,
    private readonly opts: ParseRepoDataOptions,
    /** Called when the cached text does not parse (a body cut short that the scanner could not check): drop the entry. */
    private readonly onBroken: () => Promise<unknown>,
  ) {}
  private get(): RepoDataIndex {
    try {
      this.index ??= new RepoDataIndex(readFileSync(this.file), this.opts);
    } catch (err) {
      // Not kept for the next run to trust after a 304.
      void this.onBroken().catch(() => undefined);
      throw err;
    }
    return this.index;
  }
  records(name: string): RepoDataRecord[] {
    return this.get().records(name);
  }
  all(): RepoDataRecord[] {
    return this.get().all();
  }
}

export class Gateway {
  readonly http: HttpClient;
  readonly cache: RepodataCache;
  /** The cached GET (src/repodata/cached-fetch.ts), shared with the Go release list and PyPI pages. */
  readonly fetcher: CachedFetch;
  readonly offline: boolean;
  private readonly progress: ProgressReporter;
  private readonly useShards: boolean;
  private readonly useZst: boolean;
  private readonly sources = new Map<string, Promise<Source>>();
  /** URLs whose cached copy proved unreadable in this run: fetched without validators. */
  private readonly distrusted = new Set<string>();
  /** Decoding a full repodata file holds its whole text: one at a time keeps the peak low. */
  private decodeQueue: Promise<unknown> = Promise.resolve();

  constructor(options: GatewayOptions = {}) {
    this.http = options.http ?? new HttpClient({ concurrency: options.concurrency ?? 8 });
    this.cache = new RepodataCache(options.cacheDir ?? defaultCacheDir());
    this.offline = options.offline ?? false;
    this.fetcher = new CachedFetch({ http: this.http, cache: this.cache, offline: this.offline });
    this.progress = options.progress ?? silentProgress;
    this.useShards = options.shards ?? true;
    this.useZst = options.zst ?? true;
  }

  /** Records of every name reachable from `specs` in `channels` × (`subdirs` + noarch). */
  async query(channels: readonly GatewayChannel[], subdirs: readonly string[], specs: readonly SpecLike[]): Promise<RepoDataRecord[]> {
    return (await this.queryWithNames(channels, subdirs, specs)).records;
  }

  /** Like `query`, also returning the reachable names and the names nobody has. */
  async queryWithNames(
    channels: readonly GatewayChannel[],
    subdirs: readonly string[],
    specs: readonly SpecLike[],
  ): Promise<QueryResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.queryOnce(channels, subdirs, specs);
      } catch (err) {
        if (!(err instanceof CachedCopyUnreadable) || attempt > 2) throw err;
        await this.dropCachedCopy(err);
      }
    }
  }

  /** Forget a cached copy whose records turned out unreadable, so the next open fetches it in full. */
  private async dropCachedCopy(err: CachedCopyUnreadable): Promise<void> {
    await this.cache.remove(err.url).catch(() => undefined);
    this.distrusted.add(err.url);
    for (const [key] of this.sources) if (key.endsWith(` ${err.url.replace(/\/[^/]+$/, '')}`)) this.sources.delete(key);
    if (this.offline) {
      throw new NetworkError(`${err.message} — it has been removed; run once without --offline to fetch it again`, {
        code: 'E_BAD_RESPONSE',
        url: redactUrl(err.url),
        cause: err.reason,
      });
    }
  }

  private async queryOnce(
    channels: readonly GatewayChannel[],
    subdirs: readonly string[],
    specs: readonly SpecLike[],
  ): Promise<QueryResult> {
    const sources = await this.openAll(channels, subdirs, true);
    const perSource = sources.map(() => new Map<string, RepoDataRecord[]>());
    const seen = new Set<string>();
    let frontier = [...new Set(specs.map((s) => (typeof s === 'string' ? specName(s) : s.name)))].filter(
      (n) => n !== '' && !n.startsWith('__'),
    );
    while (frontier.length > 0) {
      for (const n of frontier) seen.add(n);
      const jobs: Array<Promise<void>> = [];
      const next = new Set<string>();
      for (const name of frontier) {
        sources.forEach((src, i) => {
          jobs.push(
            Promise.resolve(src.recordsFor(name)).then((recs) => {
              if (recs.length === 0) return;
              perSource[i]!.set(name, recs);
              for (const r of recs) {
                for (const dep of r.depends) {
                  const dn = specName(dep);
                  if (dn !== '' && !seen.has(dn) && !dn.startsWith('__')) next.add(dn);
                }
              }
            }),
          );
        });
      }
      await Promise.all(jobs);
      frontier = [...next].filter((n) => !seen.has(n));
    }
    const records: RepoDataRecord[] = [];
    const found = new Set<string>();
    for (const m of perSource) {
      for (const name of [...m.keys()].sort()) {
        found.add(name);
        for (const r of m.get(name)!) records.push(r);
      }
    }
    const names = [...found].sort();
    const missing = [...seen].filter((n) => !found.has(n)).sort();
    return { records, names, missing };
  }

  /**
   * Every record of one channel subdir (for `check` and explicit inspection). Uses the full
   * repodata files when present, otherwise all shards. A subdir that does not exist is empty.
   */
  async subdirRecords(channel: GatewayChannel, subdir: string): Promise<RepoDataRecord[]> {
    for (let attempt = 0; ; attempt++) {
      const src = await this.openSource(channel, subdir, false);
      try {
        return await src.all();
      } catch (err) {
        if (!(err instanceof CachedCopyUnreadable) || attempt > 2) throw err;
        await this.dropCachedCopy(err);
      }
    }
  }

  /** Which file each channel × subdir would be served from (diagnostics, `--verbose`). */
  async sourceKinds(channels: readonly GatewayChannel[], subdirs: readonly string[]): Promise<Array<{ channel: string; subdir: string; kind: SourceKind }>> {
    const sources = await this.openAll(channels, subdirs, true);
    return sources.map((s) => ({ channel: channelLabel(s.channel), subdir: s.subdir, kind: s.kind }));
  }

  private async openAll(channels: readonly GatewayChannel[], subdirs: readonly string[], preferShards: boolean): Promise<Source[]> {
    const subs = [...new Set([...subdirs, 'noarch'])];
    const nested = await Promise.all(
      channels.map(async (ch) => {
        const list = await Promise.all(subs.map((sd) => this.openSource(ch, sd, preferShards)));
        if (list.every((s) => s.kind === 'missing')) {
          const where = redactUrl(ch.subdirUrl(subs[0]!).replace(/\/[^/]+$/, ''));
          const label = channelLabel(ch);
          throw new NetworkError(
            `channel not found: ${label}${label === where ? '' : ` (${where})`} has no repodata for any of ${subs.join(', ')} — check the channel name or URL`,
            { code: 'E_CHANNEL_NOT_FOUND', url: where, status: 404 },
          );
        }
        return list;
      }),
    );
    return nested.flat();
  }

  /**
   * One open source per subdir URL for the gateway's lifetime, so a multi-platform lock reads noarch
   * (and each shard) once. A failed open is forgotten, so a later call tries again.
   */
  private openSource(channel: GatewayChannel, subdir: string, preferShards: boolean): Promise<Source> {
    const key = `${preferShards ? 's' : 'f'} ${channel.subdirUrl(subdir)}`;
    let p = this.sources.get(key);
    if (!p) {
      p = this.loadSource(channel, subdir, preferShards);
      this.sources.set(key, p);
      p.catch(() => this.sources.delete(key));
    }
    return p;
  }

  /** Find and load the best available repodata file for one channel subdir. */
  private async loadSource(channel: GatewayChannel, subdir: string, preferShards: boolean): Promise<Source> {
    const base = channel.subdirUrl(subdir).replace(/\/+$/, '');
    const publicBase = `${channel.baseUrl.replace(/\/+$/, '')}/${subdir}/`;
    const candidates: string[] = [];
    if (this.useShards && preferShards) candidates.push(SHARDS_INDEX);
    if (this.useZst) candidates.push(FULL_FILES[0]);
    candidates.push(FULL_FILES[1]);
    if (!preferShards && this.useShards) candidates.push(SHARDS_INDEX);

    const task = this.progress.task(`repodata ${channelLabel(channel)}/${subdir}`, 1);
    let offlineMiss: OfflineCacheMissError | undefined;
    /** A file this channel does not have (404), or one not cached while offline: try the next one. */
    const tryNext = (err: unknown): boolean => {
      if (isNotFound(err)) return true;
      if (!(err instanceof OfflineCacheMissError)) return false;
      offlineMiss ??= err;
      return true;
    };
    try {
      for (const file of candidates) {
        const url = `${base}/${file}`;
        if (file !== SHARDS_INDEX && !url.startsWith('file:')) {
          try {
            return await this.openIndexed(file as SourceKind, url, channel, subdir, publicBase);
          } catch (err) {
            if (tryNext(err)) continue;
            throw err;
          }
        }
        let fetched: Fetched;
        try {
          fetched = await this.fetcher.get(url);
        } catch (err) {
          if (tryNext(err)) continue;
          throw err;
        }
        const decode = (body: Buffer) => this.decodeSource(file, body, url, channel, subdir, publicBase);
        try {
          return await decode(fetched.body);
        } catch (err) {
          if (url.startsWith('file:')) throw err;
          // Never keep a body that cannot be read: revalidation would answer 304 and serve it forever.
          await this.cache.remove(url).catch(() => undefined);
          if (!fetched.fromCache || this.offline) throw err;
          // The bad copy came from the cache: fetch the file again in full.
          return await decode((await this.fetcher.get(url)).body);
        }
      }
    } finally {
      task.done();
    }
    if (offlineMiss) {
      throw new OfflineCacheMissError(
        `offline: no cached repodata for ${redactUrl(`${base}/repodata.json`)} — run once without --offline to fill the cache`,
        { cause: offlineMiss },
      );
    }
    return new MissingSource(channel, subdir);
  }

  private async decodeSource(
    file: string,
    body: Buffer,
    url: string,
    channel: GatewayChannel,
    subdir: string,
    publicBase: string,
  ): Promise<Source> {
    const source = redactUrl(url);
    const onUnsafe = this.unsafeReporter(channel, subdir);
    if (file === SHARDS_INDEX) {
      const { index, decompressed } = await this.decodeIndex(body, url, { channel: channel.baseUrl, subdir, baseUrl: publicBase, source, onUnsafe });
      // A body as served: keep it decompressed in the cache, with its validators, so the next lock
      // (revalidated with 304, or offline) reads the index without zstd.
      if (decompressed && !url.startsWith('file:')) await this.cache.replaceBody(url, decompressed).catch(() => undefined);
      return new ShardSource(channel, subdir, index, (u, sha, name) => this.fetchShard(u, sha, name));
    }
    const json = file.endsWith('.zst') ? await this.decompress(body, url) : body;
    return new FullSource(file as SourceKind, channel, subdir, nameIndex(json, { channel: channel.baseUrl, subdir, baseUrl: publicBase, source, onUnsafe }));
  }

  /**
   * A full repodata file over HTTP, through the decoded cache: a cached copy revalidated with 304
   * (or offline) is opened from disk — no decompression, no parse, only the index is read and the
   * records of the names asked for. A new body is decompressed, scanned, stored decoded, then read
   * the same way. A body that cannot be decoded is never stored.
   */
  private async openIndexed(kind: SourceKind, url: string, channel: GatewayChannel, subdir: string, publicBase: string): Promise<Source> {
    const opts: ParseRepoDataOptions = {
      channel: channel.baseUrl,
      subdir,
      baseUrl: publicBase,
      source: redactUrl(url),
      onUnsafe: this.unsafeReporter(channel, subdir),
    };
    let cached = this.distrusted.has(url) ? undefined : await this.cache.getIndexed(url);
    if (!cached && !this.distrusted.has(url)) cached = await this.upgradeRawEntry(kind, url, opts);
    const fromEntry = (e: IndexedEntry): Source =>
      new FullSource(
        kind,
        channel,
        subdir,
        e.index ? new SparseRepoData(e.index, { file: e.jsonFile }, opts) : new LazyFullIndex(e.jsonFile, opts, () => this.cache.remove(url)),
        url,
      );
    if (this.offline) {
      if (!cached) throw new OfflineCacheMissError(`offline: ${redactUrl(url)} is not in the cache`);
      if (cached.meta.status === 404 || cached.jsonFile === undefined) {
        throw new NetworkError(`not found (cached HTTP 404): ${redactUrl(url)}`, { code: 'E_NOT_FOUND', url: redactUrl(url), status: 404 });
      }
      return fromEntry(cached);
    }
    const meta = cached?.jsonFile !== undefined ? cached.meta : undefined;
    if (kind === 'repodata.json') {
      const streamed = await this.streamAndStore(url, meta, opts);
      if (streamed === 'not-modified') return fromEntry(cached as IndexedEntry);
      if (streamed !== undefined) return new FullSource(kind, channel, subdir, streamed);
      // the cache could not be written: fetch it whole and decode it in memory below
    } else if (kind === 'repodata.json.zst') {
      const spooled = await this.spoolAndStore(url, meta, opts);
      if (spooled === 'not-modified') return fromEntry(cached as IndexedEntry);
      if (spooled !== undefined) return new FullSource(kind, channel, subdir, spooled);
      // the cache could not be written: fetch it whole and decode it in memory below
    }
    const res = await this.fetcher.conditionalGet(url, meta);
    if (res === 'not-modified') return fromEntry(cached as IndexedEntry);
    const validators = { etag: res.headers.etag, lastModified: res.headers['last-modified'] };
    return new FullSource(kind, channel, subdir, await this.decodeAndStore(kind, url, { buffer: res.body }, validators, opts));
  }

  /**
   * Decompress (.zst) and scan a body, store it decoded, and index it; one body at a time. A .zst
   * body (in memory, or spooled to a file) is decompressed in pieces straight into the cache file
   * and scanned on the way, so the decompressed subdir (hundreds of MB at conda-forge scale) is
   * never held in memory whole; the records are then read back from that file. When the cache
   * cannot be written the text is decoded into memory instead. A body that cannot be decoded is
   * never stored.
   */
  private decodeAndStore(
    kind: SourceKind,
    url: string,
    body: { buffer: Buffer } | { file: string },
    validators: { etag?: string; lastModified?: string },
    opts: ParseRepoDataOptions,
  ): Promise<NameIndex> {
    const run = this.decodeQueue.then(async (): Promise<NameIndex> => {
      if (kind === 'repodata.json.zst') {
        try {
          const { file, index } = await this.cache.putIndexedFrom(url, (tmp) => this.inflateToFile(body, url, tmp, opts.source), validators);
          return index ? new SparseRepoData(index, { file }, opts) : new LazyFullIndex(file, opts, () => this.cache.remove(url));
        } catch (err) {
          if (err instanceof NetworkError || err instanceof InputError) throw err; // the body is bad
          // the cache could not be written: decode in memory
        }
      }
      const bytes = 'buffer' in body ? body.buffer : await readFile(body.file);
      const json = kind === 'repodata.json.zst' ? await this.decompress(bytes, url) : bytes;
      const sparse = scanRepoData(json, opts.source);
      const file = await this.cache.putIndexed(url, json, sparse, validators).catch(() => undefined);
      // read back from the cache file (the text need not stay in memory); without one, from memory
      return sparse ? new SparseRepoData(sparse, file ? { file } : { buffer: json }, opts) : new RepoDataIndex(json, opts);
    });
    this.decodeQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * A repodata.json body streamed from the server straight into the decoded cache file and scanned
   * on the way (like a .zst body's decompressed pieces), so the text is never held whole: the
   * records are then read from that file. 'not-modified' when the cached copy is still good;
   * undefined when the cache cannot be written (the caller fetches the body whole instead). A body
   * that breaks off, fails its Content-Length or is not valid JSON leaves nothing in the cache; a
   * failed transfer is retried by the HTTP client with a fresh temp file.
   */
  private async streamAndStore(url: string, meta: CacheMeta | undefined, opts: ParseRepoDataOptions): Promise<'not-modified' | NameIndex | undefined> {
    try {
      const r = await this.fetcher.conditionalStream(url, meta, async (res) => {
        const validators = { etag: res.headers.etag, lastModified: res.headers['last-modified'] };
        try {
          const { file, index } = await this.cache.putIndexedFrom(url, (tmp) => this.bodyToFile(res.body, tmp, opts.source), validators);
          return index ? new SparseRepoData(index, { file }, opts) : new LazyFullIndex(file, opts, () => this.cache.remove(url));
        } catch (err) {
          if (err instanceof BodyFailure) throw err.reason;
          throw new CacheUnwritable(err);
        }
      });
      return r === 'not-modified' ? r : r.value;
    } catch (err) {
      if (err instanceof CacheUnwritable) return undefined;
      throw err;
    }
  }

  /**
   * A new repodata.json.zst body streamed from the server to a spool file in the cache (nothing of it
   * held in memory), then decompressed from that file into the decoded cache through the one-at-a-time
   * decode queue (decodeAndStore). With several platforms the bodies no longer wait in memory for
   * their turn (three 60 MiB bodies at conda-forge scale). 'not-modified' when the cached copy is
   * still good; undefined when the cache cannot be written (the caller fetches the body whole). A
   * failed transfer is retried by the HTTP client with a fresh spool file; a spool file never
   * outlives the call (nor the process: an exit cleanup removes it).
   */
  private async spoolAndStore(url: string, meta: CacheMeta | undefined, opts: ParseRepoDataOptions): Promise<'not-modified' | NameIndex | undefined> {
    let spool: { file: string; forget: () => void } | undefined;
    try {
      const r = await this.fetcher.conditionalStream(url, meta, async (res) => {
        const validators = { etag: res.headers.etag, lastModified: res.headers['last-modified'] };
        let file: string;
        try {
          file = await this.cache.spoolPath(url);
        } catch (err) {
          throw new CacheUnwritable(err);
        }
        const forget = onExitCleanup(() => unlink(file).catch(() => undefined));
        try {
          await writePieces(file, res.body, (err) => new BodyFailure(err));
        } catch (err) {
          await unlink(file).catch(() => undefined);
          forget();
          if (err instanceof BodyFailure) throw err.reason;
          throw new CacheUnwritable(err);
        }
        return { file, forget, validators };
      });
      if (r === 'not-modified') return r;
      spool = r.value;
      return await this.decodeAndStore('repodata.json.zst', url, { file: spool.file }, r.value.validators, opts);
    } catch (err) {
      if (err instanceof CacheUnwritable) return undefined;
      throw err;
    } finally {
      if (spool) {
        await unlink(spool.file).catch(() => undefined);
        spool.forget();
      }
    }
  }

  /** Write a streamed body to `tmp`, scanning it on the way; failures of the body itself are BodyFailures. */
  private bodyToFile(body: AsyncIterable<Buffer>, tmp: string, source: string | undefined): Promise<{ size: number; index: SparseIndexData | undefined }> {
    return writeScanned(tmp, body, source, (err) => new BodyFailure(err));
  }

  /** Decompress `body` (bytes or a file) into `tmp` piece by piece, scanning each piece; returns the size and index. */
  private inflateToFile(
    body: { buffer: Buffer } | { file: string },
    url: string,
    tmp: string,
    source: string | undefined,
  ): Promise<{ size: number; index: SparseIndexData | undefined }> {
    const pieces = 'buffer' in body ? zstdChunks(body.buffer) : zstdFileChunks(body.file);
    return writeScanned(tmp, pieces, source, (err) => this.zstdFailure(err, url));
  }

  /**
   * Records whose name/version/build/subdir/fn could name a path outside the prefix are dropped when
   * read; the first one of a channel subdir is reported as one warning (records are read lazily, per name).
   */
  private unsafeReporter(channel: GatewayChannel, subdir: string): (fn: string, reason: string) => void {
    let warned = false;
    return (fn, reason) => {
      if (warned) return;
      warned = true;
      this.progress.log(
        `warning: ${channelLabel(channel)}/${subdir}: ignoring package records with unsafe names (first: ${escapeControl(fn)}: ${escapeControl(reason)}); the channel's repodata is malformed or hostile`,
      );
    };
  }

  /**
   * A raw body cached by an older conda-go-lock (or seeded with `put`): convert it to the decoded
   * form once, keeping its validators. An unreadable one is removed.
   */
  private async upgradeRawEntry(kind: SourceKind, url: string, opts: ParseRepoDataOptions): Promise<Awaited<ReturnType<RepodataCache['getIndexed']>>> {
    const raw = await this.cache.get(url);
    if (!raw) return undefined;
    if (!raw.body) return { meta: raw.meta };
    try {
      await this.decodeAndStore(kind, url, { buffer: raw.body }, { etag: raw.meta.etag, lastModified: raw.meta.lastModified }, opts);
    } catch {
      await this.cache.remove(url).catch(() => undefined);
      return undefined;
    }
    return this.cache.getIndexed(url);
  }

  private async decompress(body: Buffer, url: string): Promise<Buffer> {
    try {
      return await decompressZstd(body);
    } catch (err) {
      throw this.zstdFailure(err, url);
    }
  }

  /** A ZstdError from decoding `url`'s body as E_BAD_RESPONSE naming the URL; anything else as is. */
  private zstdFailure(err: unknown, url: string): unknown {
    if (!(err instanceof ZstdError)) return err;
    return new NetworkError(`corrupt zstd data from ${redactUrl(url)}: ${err.message}`, {
      code: 'E_BAD_RESPONSE',
      url: redactUrl(url),
      cause: err,
    });
  }

  private async decodeIndex(
    body: Buffer,
    url: string,
    parseOpts: { channel: string; subdir: string; baseUrl: string; source: string; onUnsafe?: (fn: string, reason: string) => void },
  ): Promise<{ index: ShardIndex; decompressed?: Buffer }> {
    let decoded: ReturnType<typeof decodeShardIndex>;
    // a zstd frame is the body as the server sent it; the cache keeps it decompressed (decodeSource)
    let decompressed: Buffer | undefined;
    try {
      if (isZstd(body)) decompressed = await decompressZstd(body);
      decoded = decodeShardIndex(decompressed ?? body);
    } catch (err) {
      throw new NetworkError(`shard index ${redactUrl(url)} cannot be decoded: ${(err as Error).message}`, {
        code: 'E_BAD_RESPONSE',
        url: redactUrl(url),
        cause: err,
      });
    }
    const { info, shards } = decoded;
    // shards_base_url is relative to the index URL ('' = same directory).
    const sbu = typeof info.shards_base_url === 'string' ? info.shards_base_url : '';
    const shardsBase = sbu === '' ? url.slice(0, url.lastIndexOf('/') + 1) : withSlash(new URL(sbu, url).href);
    const ctx = makeContext(parseOpts, info);
    return { index: { shards, shardsBase, ctx }, decompressed };
  }

  /**
   * A shard's msgpack bytes. Shards are content-addressed: a download is checked against `sha256`,
   * then stored decompressed under that name (so a warm lock runs no zstd), and that copy is always
   * valid. A compressed copy cached by an older conda-go-lock is verified the same way and converted.
   */
  private async fetchShard(url: string, sha256: string, name: string): Promise<Buffer> {
    const local = url.startsWith('file:');
    if (!local) {
      const decoded = await this.cache.getDecodedShard(sha256);
      if (decoded) return decoded;
    }
    let compressed = local ? undefined : await this.cache.getShard(sha256);
    if (!compressed) {
      if (this.offline && !local) {
        throw new OfflineCacheMissError(
          `offline: shard for '${name}' (${redactUrl(url)}) is not in the cache — run once without --offline`,
        );
      }
      compressed = (await this.http.request(url)).body;
      this.verifyShard(compressed, sha256, url, name);
    }
    let bytes: Buffer;
    try {
      bytes = await decompressZstd(compressed);
    } catch (err) {
      throw new IntegrityError(`shard for '${name}' at ${redactUrl(url)} cannot be decoded: ${(err as Error).message}`, { cause: err });
    }
    if (!local) await this.cache.putDecodedShard(sha256, bytes).catch(() => undefined);
    return bytes;
  }

  private verifyShard(body: Buffer, sha256: string, url: string, name: string): void {
    const got = sha256Hex(body);
    if (got !== sha256) {
      throw new IntegrityError(
        `shard for '${name}' from ${redactUrl(url)} has sha256 ${got}, but the shard index says ${sha256} — the server's data is inconsistent or was tampered with`,
      );
    }
  }


}
