/**
 * PyPI simple-index client: project pages (PEP 691 JSON, PEP 503 HTML fallback), core metadata
 * (PEP 658/714 `.metadata` files, else METADATA read from the wheel), sha256/size for the files
 * that end up locked (computed / asked with HEAD when an index does not give them).
 *
 * Responses go through the repodata gateway's cached GET (src/repodata/cached-fetch.ts: URL-keyed,
 * ETag / Last-Modified revalidation, 404 markers), so `--offline` works after one online lock. Requests run
 * concurrently up to the HttpClient's limit; each URL is fetched at most once per client.
 *
 * Several indexes: the first index (primary, then extras in order) that has a project serves all
 * of its files — uv's "first-index" strategy, which keeps an extra index from shadowing a PyPI
 * name (dependency confusion). docs/pypi.md.
 */
import { createHash } from 'node:crypto';
import { NetworkError, OfflineCacheMissError } from '../errors.js';
import { HttpClient, isNotFound } from '../net/http.js';
import { redactUrl } from '../net/redact.js';
import { canonicalName } from '../pypi/name.js';
import { RepodataCache, defaultCacheDir } from '../repodata/cache.js';
import { CachedFetch, type Fetched } from '../repodata/cached-fetch.js';
import { parseCoreMetadata, readWheelMetadata, type CoreMetadata } from './metadata.js';
import { SIMPLE_ACCEPT, parseProjectPage, type IndexFile, type ProjectPage } from './simple.js';

export interface PypiIndexUrl {
  /** URL to request (credentials expanded), without trailing slash. */
  url: string;
  /** Token-free URL recorded in the lockfile. */
  redacted: string;
}

export interface PypiIndexOptions {
  indexes: PypiIndexUrl[];
  http?: HttpClient;
  cacheDir?: string;
  offline?: boolean;
}

export interface IndexStats {
  requests: number;
  bytes: number;
  pages: number;
  metadataFiles: number;
  /** Wheels downloaded (to read METADATA or to hash a file the index gave no sha256 for). */
  wheels: number;
  heads: number;
}

export interface FoundProject {
  /** Token-free URL of the index that serves the project. */
  index: string;
  page: ProjectPage;
}

export class PypiIndexClient {
  readonly stats: IndexStats = { requests: 0, bytes: 0, pages: 0, metadataFiles: 0, wheels: 0, heads: 0 };
  private readonly http: HttpClient;
  private readonly cache: RepodataCache;
  private readonly fetcher: CachedFetch;
  private readonly offline: boolean;
  private readonly projects = new Map<string, Promise<FoundProject | undefined>>();
  private readonly metadataByUrl = new Map<string, Promise<CoreMetadata>>();
  private readonly wheelHashes = new Map<string, Promise<{ sha256: string; size: number }>>();

  constructor(readonly options: PypiIndexOptions) {
    if (options.indexes.length === 0) throw new Error('PypiIndexClient needs at least one index');
    this.http = options.http ?? new HttpClient({ concurrency: 16 });
    this.cache = new RepodataCache(options.cacheDir ?? defaultCacheDir());
    this.offline = options.offline ?? false;
    this.fetcher = new CachedFetch({ http: this.http, cache: this.cache, offline: this.offline, stats: this.stats });
  }

  /** The project page from the first index that has it, or undefined when none has it (404). */
  project(name: string): Promise<FoundProject | undefined> {
    const key = canonicalName(name);
    let p = this.projects.get(key);
    if (!p) {
      p = this.findProject(key);
      this.projects.set(key, p);
    }
    return p;
  }

  private async findProject(key: string): Promise<FoundProject | undefined> {
    for (const idx of this.options.indexes) {
      const url = `${idx.url}/${key}/`;
      let got: Fetched;
      try {
        got = await this.get(url, { accept: SIMPLE_ACCEPT });
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      this.stats.pages++;
      // Relative file URLs resolve against the real page URL, so they keep the index's credentials
      // (`/t/<token>/`, `user:password@`); the page's own URL is kept redacted.
      const page = parseProjectPage(got.body, got.contentType, url);
      // Keep requesting absolute file URLs with the index's credentials when they live on the index host.
      return {
        index: idx.redacted,
        page: { ...page, url: redactUrl(url), files: page.files.map((f) => ({ ...f, url: this.withCredentials(f.url, idx) })) },
      };
    }
    return undefined;
  }

  /** Core metadata of one wheel: the PEP 658 file when the index has one, else METADATA from the wheel. */
  metadata(file: IndexFile): Promise<CoreMetadata> {
    let p = this.metadataByUrl.get(file.url);
    if (!p) {
      p = this.fetchMetadata(file);
      this.metadataByUrl.set(file.url, p);
    }
    return p;
  }

  private async fetchMetadata(file: IndexFile): Promise<CoreMetadata> {
    const shown = redactUrl(file.url);
    if (file.coreMetadata) {
      const url = `${file.url}.metadata`;
      const want = file.coreMetadata.sha256;
      try {
        // A metadata file that fails its hash is not cached (a cached one is fetched again).
        return await this.fetcher.getParsed(
          url,
          (body) => {
            if (want && sha256(body) !== want) {
              throw new NetworkError(`${redactUrl(url)}: metadata file sha256 ${sha256(body)} is not the ${want} the index names`, {
                code: 'E_BAD_RESPONSE',
                url: redactUrl(url),
              });
            }
            this.stats.metadataFiles++;
            return parseCoreMetadata(body.toString('utf8'), redactUrl(url));
          },
          { offlineMiss: `offline: ${redactUrl(url)} is not in the cache (lock once online first)` },
        );
      } catch (err) {
        // PEP 714: an index may advertise a file it does not serve; fall back to the wheel.
        if (!isNotFound(err)) throw err;
      }
    }
    const wheel = await this.wheel(file);
    return parseCoreMetadata(await readWheelMetadata(wheel, shown), `${shown} (METADATA)`);
  }

  private async wheel(file: IndexFile): Promise<Buffer> {
    // A wheel that fails its hash is not cached (a cached one is fetched again).
    const body = await this.fetcher.getParsed(
      file.url,
      (b) => {
        const hash = sha256(b);
        if (file.sha256 && hash !== file.sha256) {
          throw new NetworkError(`${redactUrl(file.url)}: downloaded wheel has sha256 ${hash}, the index says ${file.sha256}`, {
            code: 'E_BAD_RESPONSE',
            url: redactUrl(file.url),
          });
        }
        this.wheelHashes.set(file.url, Promise.resolve({ sha256: hash, size: b.length }));
        return b;
      },
      { offlineMiss: `offline: ${redactUrl(file.url)} is not in the cache (lock once online first)` },
    );
    this.stats.wheels++;
    return body;
  }

  /**
   * sha256 and size of a file to lock: from the index when it gives both; a missing sha256 is
   * computed from the downloaded wheel, a missing size asked with HEAD.
   */
  async fileDigest(file: IndexFile): Promise<{ sha256: string; size: number }> {
    if (file.sha256 && file.size !== undefined) return { sha256: file.sha256, size: file.size };
    const known = this.wheelHashes.get(file.url);
    if (known) return known;
    if (!file.sha256) {
      await this.wheel(file);
      return this.wheelHashes.get(file.url)!;
    }
    const size = await this.headSize(file.url);
    return { sha256: file.sha256, size };
  }

  private async headSize(url: string): Promise<number> {
    if (this.offline) {
      const cached = await this.cache.get(`${url}#size`);
      if (cached?.body) return Number(cached.body.toString('utf8'));
      throw new OfflineCacheMissError(`offline: the size of ${redactUrl(url)} is not in the cache`);
    }
    this.stats.requests++;
    this.stats.heads++;
    const res = await this.http.request(url, { method: 'HEAD' });
    const len = Number(res.headers['content-length']);
    if (!Number.isFinite(len) || len < 0) {
      // No Content-Length on HEAD: download and hash instead.
      const { body } = await this.get(url);
      await this.cache.put(`${url}#size`, Buffer.from(String(body.length)), {}).catch(() => undefined);
      return body.length;
    }
    await this.cache.put(`${url}#size`, Buffer.from(String(len)), {}).catch(() => undefined);
    return len;
  }

  /** Cached GET with ETag / Last-Modified revalidation (src/repodata/cached-fetch.ts). */
  private get(url: string, opts: { accept?: string } = {}): Promise<Fetched> {
    return this.fetcher.get(url, { ...opts, offlineMiss: `offline: ${redactUrl(url)} is not in the cache (lock once online first)` });
  }

  private withCredentials(fileUrl: string, idx: PypiIndexUrl): string {
    if (idx.url === idx.redacted) return fileUrl;
    try {
      const f = new URL(fileUrl);
      const i = new URL(idx.url);
      if (f.host === i.host && !f.username && i.username) {
        f.username = i.username;
        f.password = i.password;
        return f.href;
      }
    } catch {
      // keep as is
    }
    return fileUrl;
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
