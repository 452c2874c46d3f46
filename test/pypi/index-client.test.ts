import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkError, OfflineCacheMissError } from '../../src/errors.js';
import { HttpClient } from '../../src/net/http.js';
import { PypiIndexClient } from '../../src/pypi-index/client.js';
import { parseSimpleHtml, parseSimpleJson } from '../../src/pypi-index/simple.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { PypiIndexServer } from '../support/pypi-index-server.js';

const http = new HttpClient({ retries: 0, timeoutMs: 5000 });

const caches: string[] = [];
async function tempCache(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'cgl-pypi-'));
  caches.push(d);
  return d;
}

describe.skipIf(!haveFixtures)('PyPI index client against a loopback index', () => {
  let server: PypiIndexServer;
  let cacheDir: string;
  const client = (opts: { offline?: boolean; cache?: string } = {}) =>
    new PypiIndexClient({ indexes: [{ url: server.indexUrl, redacted: server.indexUrl }], http, cacheDir: opts.cache ?? cacheDir, offline: opts.offline ?? false });

  beforeAll(async () => {
    server = await new PypiIndexServer().addPoetryProject('requests').addPoetryProject('six').start();
    cacheDir = await mkdtemp(join(tmpdir(), 'cgl-pypi-cache-'));
  });
  afterAll(async () => {
    await server.stop();
    for (const d of caches) await rm(d, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('asks for PEP 691 JSON, reads files, hashes and PEP 658 metadata (hash-checked)', async () => {
    server.mode.html = false;
    const c = client({ cache: await tempCache() });
    const found = (await c.project('Requests'))!;
    expect(found.page.format).toBe('json');
    expect(server.log.at(-1)!.accept).toContain('application/vnd.pypi.simple.v1+json');
    const wheel = found.page.files.find((f) => f.filename === 'requests-2.18.4-py2.py3-none-any.whl')!;
    expect(wheel.url).toBe(`${server.url}/files/requests-2.18.4-py2.py3-none-any.whl`);
    expect(wheel.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(wheel.coreMetadata).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const md = await c.metadata(wheel);
    expect(md.version).toBe('2.18.4');
    expect(md.requiresDist).toContain('idna (>=2.5,<2.7)');
    expect(server.requestsTo(/requests-2\.18\.4-py2\.py3-none-any\.whl$/)).toHaveLength(0); // no wheel download
    expect(c.stats.metadataFiles).toBe(1);
  });

  it('falls back to PEP 503 HTML when the index has no JSON, with the same files', async () => {
    const cj = client({ cache: await tempCache() });
    const json = (await cj.project('requests'))!.page;
    server.mode.html = true;
    try {
      const ch = client({ cache: await tempCache() });
      const html = (await ch.project('requests'))!.page;
      expect(html.format).toBe('html');
      expect(html.files.map((f) => [f.filename, f.url, f.sha256, Boolean(f.coreMetadata)])).toEqual(
        json.files.map((f) => [f.filename, f.url, f.sha256, Boolean(f.coreMetadata)]),
      );
      const md = await ch.metadata(html.files.find((f) => f.filename.endsWith('2.18.4-py2.py3-none-any.whl'))!);
      expect(md.name.toLowerCase()).toBe('requests');
    } finally {
      server.mode.html = false;
    }
  });

  it('without metadata files, reads METADATA from the wheel zip and hashes the download', async () => {
    server.mode.noMetadata = true;
    try {
      const c = client({ cache: await tempCache() });
      const f = (await c.project('six'))!.page.files.find((x) => x.filename === 'six-1.11.0-py2.py3-none-any.whl')!;
      expect(f.coreMetadata).toBe(false);
      const md = await c.metadata(f);
      expect(md.name).toBe('six');
      expect(md.version).toBe('1.11.0');
      expect(c.stats.wheels).toBe(1);
      expect((await c.fileDigest({ ...f, sha256: undefined })).sha256).toBe(f.sha256);
    } finally {
      server.mode.noMetadata = false;
    }
  });

  it('revalidates with ETag (304), works --offline from the cache, and names the URL on an offline miss', async () => {
    const dir = await tempCache();
    await client({ cache: dir }).project('six');
    const before = server.log.length;
    const again = client({ cache: dir });
    expect((await again.project('six'))!.page.files.length).toBeGreaterThan(0);
    expect(server.log.slice(before).map((l) => l.status)).toEqual([304]);
    const off = client({ cache: dir, offline: true });
    expect((await off.project('six'))!.page.files.length).toBeGreaterThan(0);
    expect(server.log.length).toBe(before + 1);
    await expect(off.project('requests')).rejects.toThrow(OfflineCacheMissError);
    await expect(off.project('requests')).rejects.toThrow(/simple\/requests\/ is not in the cache/);
  });

  it('a 404 means the project is not on the index; an unreachable index is a NetworkError', async () => {
    expect(await client().project('no-such-project')).toBeUndefined();
    const dead = new PypiIndexClient({ indexes: [{ url: 'http://127.0.0.1:9/simple', redacted: 'http://127.0.0.1:9/simple' }], http, cacheDir });
    await expect(dead.project('six')).rejects.toThrow(NetworkError);
  });

  it('several indexes: the first that has the project serves it', async () => {
    const other = await new PypiIndexServer().addWheel('six', '99.0').start();
    try {
      const c = new PypiIndexClient({
        indexes: [
          { url: other.indexUrl, redacted: other.indexUrl },
          { url: server.indexUrl, redacted: server.indexUrl },
        ],
        http,
        cacheDir: await tempCache(),
      });
      expect((await c.project('six'))!.index).toBe(other.indexUrl);
      expect((await c.project('requests'))!.index).toBe(server.indexUrl);
    } finally {
      await other.stop();
    }
  });
});

describe.skipIf(!haveFixtures)("real pypi.org responses (micropip's byte-exact numpy/pytest pages)", () => {
  it('PEP 691 JSON and PEP 503 HTML of the same project give the same files, hashes, requires-python, yanked and metadata flags', async () => {
    for (const name of ['numpy', 'pytest', 'black', 'pytz']) {
      const dir = fixture('pypi', 'micropip', 'pypi_response');
      const json = parseSimpleJson(await readFile(join(dir, `${name}_simple.json`), 'utf8'), `https://pypi.org/simple/${name}/`);
      const html = parseSimpleHtml(await readFile(join(dir, `${name}_simple.html`), 'utf8'), `https://pypi.org/simple/${name}/`);
      expect(json.files.length, name).toBeGreaterThan(10);
      // (black's HTML has a few host-relative /packages/… links where the JSON has absolute ones.)
      const key = (f: (typeof json.files)[number]) => [f.filename, new URL(f.url).pathname, f.sha256, f.requiresPython ?? null, Boolean(f.yanked), Boolean(f.coreMetadata)];
      expect(html.files.map(key), name).toEqual(json.files.map(key));
      if (name === 'numpy') {
        expect(json.files.length).toBe(2210);
        expect(json.files.filter((f) => f.coreMetadata).length).toBe(99);
        expect(json.files.every((f) => f.size !== undefined)).toBe(true);
      }
    }
  });
});
