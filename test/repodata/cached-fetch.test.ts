import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NetworkError, OfflineCacheMissError } from '../../src/errors.js';
import { HttpClient } from '../../src/net/http.js';
import { RepodataCache } from '../../src/repodata/cache.js';
import { CachedFetch } from '../../src/repodata/cached-fetch.js';

const http = new HttpClient({ retries: 0, timeoutMs: 5000 });

describe('CachedFetch: the one cached GET (repodata, Go release list, PyPI pages)', () => {
  let server: Server;
  let base: string;
  let cacheDir: string;
  /** path → body; the ETag is the body's length + first byte, so a new body gets a new ETag. */
  const files = new Map<string, string>();
  const seen: Array<{ path: string; ifNoneMatch?: string; accept?: string; status: number }> = [];

  const etagOf = (body: string) => `"${body.length}-${body.charCodeAt(0)}"`;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const path = req.url ?? '/';
      const body = files.get(path);
      const entry = { path, ifNoneMatch: req.headers['if-none-match'], accept: req.headers.accept, status: 200 };
      seen.push(entry);
      if (body === undefined) {
        entry.status = 404;
        res.writeHead(404).end('no');
        return;
      }
      if (req.headers['if-none-match'] === etagOf(body)) {
        entry.status = 304;
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { etag: etagOf(body), 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(async () => {
    seen.length = 0;
    files.clear();
    cacheDir = await mkdtemp(join(tmpdir(), 'cgl-cached-fetch-'));
    return () => rm(cacheDir, { recursive: true, force: true });
  });
  const fetcher = (offline = false, stats?: { requests: number; bytes: number }) =>
    new CachedFetch({ http, cache: new RepodataCache(cacheDir), offline, ...(stats ? { stats } : {}) });

  it('revalidates with If-None-Match: a 304 serves the cached copy, a changed file is fetched anew', async () => {
    files.set('/a.json', '{"v":1}');
    const stats = { requests: 0, bytes: 0 };
    const first = await fetcher(false, stats).get(`${base}/a.json`, { accept: 'application/json' });
    expect(first).toEqual({ body: Buffer.from('{"v":1}'), fromCache: false, contentType: 'application/json' });
    expect(seen[0]).toMatchObject({ ifNoneMatch: undefined, accept: 'application/json', status: 200 });

    const second = await fetcher(false, stats).get(`${base}/a.json`);
    expect(second.fromCache).toBe(true);
    expect(second.body.toString()).toBe('{"v":1}');
    expect(seen[1]).toMatchObject({ ifNoneMatch: etagOf('{"v":1}'), status: 304 });

    files.set('/a.json', '{"v":22}');
    const third = await fetcher(false, stats).get(`${base}/a.json`);
    expect(third).toMatchObject({ fromCache: false, body: Buffer.from('{"v":22}') });
    expect(stats).toEqual({ requests: 3, bytes: 7 + 8 });
  });

  it('offline: the cached copy without a request; a missing entry names the URL; a remembered 404 stays a 404', async () => {
    files.set('/b.json', '[1,2]');
    await fetcher().get(`${base}/b.json`);
    await expect(fetcher().get(`${base}/gone.json`)).rejects.toMatchObject({ status: 404 });
    seen.length = 0;
    expect((await fetcher(true).get(`${base}/b.json`)).body.toString()).toBe('[1,2]');
    const notFound = await fetcher(true).get(`${base}/gone.json`).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(NetworkError);
    expect(notFound).toMatchObject({ code: 'E_NOT_FOUND', status: 404 });
    const miss = await fetcher(true).get(`${base}/never.json`).catch((e: unknown) => e);
    expect(miss).toBeInstanceOf(OfflineCacheMissError);
    expect((miss as Error).message).toContain(`${base}/never.json is not in the cache`);
    const custom = await fetcher(true).get(`${base}/never.json`, { offlineMiss: 'go list not cached' }).catch((e: unknown) => e);
    expect((custom as Error).message).toBe('go list not cached');
    expect(seen).toEqual([]);
  });

  it('getParsed never caches a body its reader rejects', async () => {
    files.set('/c.json', 'not json');
    const parse = (b: Buffer) => JSON.parse(b.toString()) as unknown;
    await expect(fetcher().getParsed(`${base}/c.json`, parse)).rejects.toThrow(SyntaxError);
    await expect(fetcher(true).getParsed(`${base}/c.json`, parse)).rejects.toBeInstanceOf(OfflineCacheMissError);
  });

  it('getParsed drops an unreadable cached copy and fetches it again without If-None-Match', async () => {
    files.set('/d.json', '{"ok":true}');
    await fetcher().get(`${base}/d.json`);
    // Corrupt the cached body in place (same size, so the cache still returns it).
    const dir = join(cacheDir, 'repodata');
    const bin = (await readdir(dir)).find((f) => f.endsWith('.bin'))!;
    await writeFile(join(dir, bin), '{"ok":tru}}');
    seen.length = 0;
    const value = await fetcher().getParsed(`${base}/d.json`, (b) => JSON.parse(b.toString()) as unknown);
    expect(value).toEqual({ ok: true });
    expect(seen.map((s) => [s.status, s.ifNoneMatch])).toEqual([
      [304, etagOf('{"ok":true}')],
      [200, undefined],
    ]);
    // ... and the good copy is cached again.
    expect(await fetcher(true).getParsed(`${base}/d.json`, (b) => JSON.parse(b.toString()) as unknown)).toEqual({ ok: true });
  });

  it('offline, an unreadable cached copy is removed and its error thrown', async () => {
    files.set('/e.json', '{"x":1}');
    await fetcher().get(`${base}/e.json`);
    const dir = join(cacheDir, 'repodata');
    const bin = (await readdir(dir)).find((f) => f.endsWith('.bin'))!;
    await writeFile(join(dir, bin), '{"x":}}');
    const parse = (b: Buffer) => JSON.parse(b.toString()) as unknown;
    await expect(fetcher(true).getParsed(`${base}/e.json`, parse)).rejects.toThrow(SyntaxError);
    await expect(fetcher(true).getParsed(`${base}/e.json`, parse)).rejects.toBeInstanceOf(OfflineCacheMissError);
  });

  it('a token in the URL reaches the server but not the cache', async () => {
    files.set('/t/SECRET42/f.json', '{}');
    await fetcher().get(`${base}/t/SECRET42/f.json`);
    const dir = join(cacheDir, 'repodata');
    for (const f of await readdir(dir)) {
      expect(f).not.toContain('SECRET42');
      expect(await readFile(join(dir, f), 'utf8')).not.toContain('SECRET42');
    }
    expect((await fetcher(true).get(`${base}/t/SECRET42/f.json`)).body.toString()).toBe('{}');
  });
});
