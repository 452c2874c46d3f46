/**
 * The one cached HTTP GET: repodata files, the Go release list and PyPI index pages all go
 * through it, into the same on-disk cache (src/repodata/cache.ts: URL-keyed, token-free keys,
 * atomic writes).
 *
 * - A cached copy is revalidated with If-None-Match / If-Modified-Since; 304 serves it.
 * - A 404 is remembered, so an `--offline` run knows the file does not exist.
 * - `offline` uses the cache only: a missing entry is an OfflineCacheMissError naming the URL.
 * - `file:` URLs are read directly, never cached.
 * - `getParsed` caches a body only once it has been read successfully, and drops a cached copy
 *   that cannot be read (revalidation would otherwise answer 304 and serve it forever), fetching
 *   it again in full when online.
 */
import { NetworkError, OfflineCacheMissError } from '../errors.js';
import { HttpClient, isNotFound, type HttpResponse, type StreamedResponse } from '../net/http.js';
import { redactUrl } from '../net/redact.js';
import type { CacheMeta, RepodataCache } from './cache.js';

export interface CachedFetchOptions {
  http: HttpClient;
  cache: RepodataCache;
  /** Use only the cache. */
  offline?: boolean;
  /** Incremented for every request sent and every body byte received (a caller's own stats object fits). */
  stats?: { requests: number; bytes: number };
}

export interface GetOptions {
  /** Accept header (e.g. PEP 691 negotiation). */
  accept?: string;
  /** Message of the OfflineCacheMissError when the URL is not cached (default names the URL). */
  offlineMiss?: string;
}

export interface Fetched {
  body: Buffer;
  /** The cached copy (revalidated with 304, or offline). */
  fromCache: boolean;
  /** Content-Type of a body fetched now (not known for a cached copy). */
  contentType?: string;
}

interface Response extends Fetched {
  validators: { etag?: string; lastModified?: string };
}

export class CachedFetch {
  readonly http: HttpClient;
  readonly cache: RepodataCache;
  readonly offline: boolean;
  private readonly stats: { requests: number; bytes: number };

  constructor(options: CachedFetchOptions) {
    this.http = options.http;
    this.cache = options.cache;
    this.offline = options.offline ?? false;
    this.stats = options.stats ?? { requests: 0, bytes: 0 };
  }

  /** GET through the cache; a new body is stored (a failed cache write is not an error). */
  async get(url: string, opts: GetOptions = {}): Promise<Fetched> {
    const res = await this.fetch(url, opts, false);
    if (!res.fromCache) await this.store(url, res);
    return strip(res);
  }

  /**
   * GET through the cache and read the body with `read`. A body `read` rejects is not cached; a
   * cached copy it rejects is removed and, online, fetched again without validators (offline, the
   * error is thrown).
   */
  async getParsed<T>(url: string, read: (body: Buffer, fetched: Fetched) => T | Promise<T>, opts: GetOptions = {}): Promise<T> {
    let res = await this.fetch(url, opts, false);
    let value: T;
    try {
      value = await read(res.body, strip(res));
    } catch (err) {
      if (url.startsWith('file:')) throw err;
      await this.cache.remove(url).catch(() => undefined);
      if (!res.fromCache || this.offline) throw err;
      res = await this.fetch(url, opts, true);
      value = await read(res.body, strip(res));
    }
    if (!res.fromCache) await this.store(url, res);
    return value;
  }

  private async fetch(url: string, opts: GetOptions, unconditional: boolean): Promise<Response> {
    const headers: Record<string, string> = {};
    if (opts.accept) headers.accept = opts.accept;
    if (url.startsWith('file:')) {
      const res = await this.http.request(url, { headers });
      return fresh(res);
    }
    const cached = unconditional ? undefined : await this.cache.get(url);
    if (this.offline) {
      if (!cached) throw new OfflineCacheMissError(opts.offlineMiss ?? `offline: ${redactUrl(url)} is not in the cache (lock once online first)`);
      if (cached.meta.status === 404 || !cached.body) {
        throw new NetworkError(`not found (cached HTTP 404): ${redactUrl(url)}`, { code: 'E_NOT_FOUND', url: redactUrl(url), status: 404 });
      }
      return { body: cached.body, fromCache: true, validators: {} };
    }
    const res = await this.conditionalGet(url, cached?.body ? cached.meta : undefined, headers);
    if (res === 'not-modified') return { body: cached!.body!, fromCache: true, validators: {} };
    return fresh(res);
  }

  /** The conditional request (counted); a 404 is remembered in the cache before it is rethrown. */
  private async firstAttempt<R>(url: string, send: () => Promise<R>): Promise<R> {
    this.stats.requests++;
    try {
      return await send();
    } catch (err) {
      if (isNotFound(err)) await this.cache.putNotFound(url).catch(() => undefined);
      throw err;
    }
  }

  /**
   * One GET revalidating `meta`'s validators (If-None-Match / If-Modified-Since): 'not-modified'
   * after a 304 (the entry is touched), else the new response. A 404 is remembered in the cache;
   * a 304 nobody asked for is answered by fetching again without validators. For callers that
   * keep the body in their own form (the gateway's decoded repodata).
   */
  async conditionalGet(url: string, meta: CacheMeta | undefined, headers: Record<string, string> = {}): Promise<'not-modified' | HttpResponse> {
    let res = await this.firstAttempt(url, () => this.http.request(url, { headers: withValidators(meta, headers) }));
    if (res.status === 304) {
      if (meta) {
        await this.cache.touch(url, meta).catch(() => undefined);
        return 'not-modified';
      }
      this.stats.requests++;
      res = await this.http.request(url, { headers });
    }
    this.stats.bytes += res.body.length;
    return res;
  }

  /**
   * conditionalGet with the body streamed to `consume` (HttpClient.stream: nothing is held whole; a
   * failed transfer is retried with a new call of `consume`): 'not-modified' after a 304 (the entry
   * is touched), else the consumer's value and the response headers. For the gateway's repodata.json,
   * written to the decoded cache as it arrives.
   */
  async conditionalStream<T>(
    url: string,
    meta: CacheMeta | undefined,
    consume: (res: StreamedResponse) => Promise<T>,
    headers: Record<string, string> = {},
  ): Promise<'not-modified' | { headers: Record<string, string>; value: T }> {
    const stats = this.stats;
    const counted = (res: StreamedResponse): Promise<T> => {
      const body = res.body;
      return consume({
        ...res,
        body: (async function* () {
          for await (const chunk of body) {
            stats.bytes += chunk.length;
            yield chunk;
          }
        })(),
      });
    };
    let res = await this.firstAttempt(url, () => this.http.stream(url, { headers: withValidators(meta, headers) }, counted));
    if (res.status === 304) {
      if (meta) {
        await this.cache.touch(url, meta).catch(() => undefined);
        return 'not-modified';
      }
      this.stats.requests++;
      res = await this.http.stream(url, { headers }, counted);
      if (res.status === 304) {
        throw new NetworkError(`${redactUrl(url)} answered 304 Not Modified to a request without validators`, {
          code: 'E_BAD_RESPONSE',
          url: redactUrl(url),
        });
      }
    }
    return { headers: res.headers, value: (res as { value: T }).value };
  }

  private async store(url: string, res: Response): Promise<void> {
    if (url.startsWith('file:')) return;
    await this.cache.put(url, res.body, res.validators).catch(() => undefined);
  }
}

function fresh(res: HttpResponse): Response {
  const out: Response = { body: res.body, fromCache: false, validators: {} };
  if (res.headers.etag) out.validators.etag = res.headers.etag;
  if (res.headers['last-modified']) out.validators.lastModified = res.headers['last-modified'];
  if (res.headers['content-type']) out.contentType = res.headers['content-type'];
  return out;
}

function strip(res: Response): Fetched {
  const out: Fetched = { body: res.body, fromCache: res.fromCache };
  if (res.contentType !== undefined) out.contentType = res.contentType;
  return out;
}

/** `headers` plus the validators of a cached copy (If-None-Match, If-Modified-Since). */
function withValidators(meta: CacheMeta | undefined, headers: Record<string, string>): Record<string, string> {
  const out = { ...headers };
  if (meta?.etag) out['if-none-match'] = meta.etag;
  if (meta?.lastModified) out['if-modified-since'] = meta.lastModified;
  return out;
}
