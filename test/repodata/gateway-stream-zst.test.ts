/**
 * A new repodata.json.zst body is streamed from the socket to a spool file in the cache, then
 * decompressed from that file into the decoded cache (src/repodata/gateway.ts spoolAndStore), instead
 * of being held in memory whole while it waits for the one-at-a-time decode queue (three 60 MiB
 * bodies for a 3-platform lock at conda-forge scale). The stored text must be the exact decompressed
 * file and the answers the full parser's, with every zstd engine; a body cut off, or corrupt, must
 * give a clear error and leave nothing of that URL in the cache (no spool, no decoded text); a
 * cache that cannot be written still gives the answer.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { zstdEngines } from '../../src/compress/zstd.js';
import { Channel } from '../../src/conda/channel.js';
import { NetworkError } from '../../src/errors.js';
import { HttpClient } from '../../src/net/http.js';
import { cacheKey, RepodataCache } from '../../src/repodata/cache.js';
import { Gateway } from '../../src/repodata/gateway.js';
import { RepoDataIndex } from '../../src/repodata/parse.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

const SUB = 'conda-forge-subchannel-py39-2024-05';
const SPECS = ['python', 'curl'];
const PLATFORMS = ['linux-64', 'osx-64', 'win-64'];

describe.skipIf(!haveFixtures)('gateway: repodata.json.zst spooled to disk, then decoded into the cache', () => {
  let server: ChannelServer;
  let tmp: string;
  const json = (subdir: string) => readFileSync(fixture('repodata', `${SUB}/${subdir}/repodata.json`));
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'cgl-gw-zst-'));
    server = await new ChannelServer().mount('/cf', fixture('repodata', SUB)).start();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  const savedEngine = process.env.CONDA_GO_LOCK_ZSTD;
  beforeEach(() => {
    server.clearFaults();
    server.requests.length = 0;
  });
  afterEach(() => {
    if (savedEngine === undefined) delete process.env.CONDA_GO_LOCK_ZSTD;
    else process.env.CONDA_GO_LOCK_ZSTD = savedEngine;
  });
  let n = 0;
  const freshCache = () => join(tmp, `cache-${n++}`);
  const gateway = (cacheDir: string, retries = 2) =>
    new Gateway({ cacheDir, shards: false, http: new HttpClient({ retries, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 }) });
  const query = (g: Gateway, subdirs = ['linux-64']) => g.query([Channel.parse(server.url('/cf'))], subdirs, SPECS);
  const key = (r: { subdir: string; fn: string }) => `${r.subdir}/${r.fn}`;
  const zstUrl = (subdir: string) => server.url(`/cf/${subdir}/repodata.json.zst`);
  /** Everything of one URL's entry in the cache other than its metadata: decoded text, index, temp and spool files. */
  const filesOf = (cacheDir: string, url: string) =>
    existsSync(join(cacheDir, 'repodata'))
      ? readdirSync(join(cacheDir, 'repodata')).filter((f) => f.includes(cacheKey(url)) && !/^[0-9a-f]{64}\.json$/.test(f))
      : [];
  const spools = (cacheDir: string) => (existsSync(join(cacheDir, 'repodata')) ? readdirSync(join(cacheDir, 'repodata')).filter((f) => f.endsWith('.zst.tmp')) : []);

  /** What the full parser answers for `name` from the subdirs' repodata.json. */
  function fullRecords(name: string, subdirs: string[]): string {
    const recs = [...subdirs, 'noarch'].flatMap((subdir) =>
      new RepoDataIndex(json(subdir), { channel: server.url('/cf'), subdir, baseUrl: server.url(`/cf/${subdir}/`) }).records(name),
    );
    return JSON.stringify(recs.sort((a, b) => key(a).localeCompare(key(b))));
  }
  const mine = (recs: Awaited<ReturnType<Gateway['query']>>, name: string) =>
    JSON.stringify(recs.filter((r) => r.name === name).sort((a, b) => key(a).localeCompare(key(b))));

  it.each(zstdEngines())('stores the exact decompressed text and answers like the full parser (engine %s)', async (engine) => {
    process.env.CONDA_GO_LOCK_ZSTD = engine;
    const cacheDir = freshCache();
    const recs = await query(gateway(cacheDir));
    for (const name of ['python', 'curl', 'openssl', 'pip']) {
      expect(mine(recs, name), name).not.toBe('[]');
      expect(mine(recs, name), name).toBe(fullRecords(name, ['linux-64']));
    }
    const entry = await new RepodataCache(cacheDir).getIndexed(zstUrl('linux-64'));
    expect(readFileSync(entry!.jsonFile!).equals(json('linux-64'))).toBe(true);
    expect(server.requestsTo('/cf/linux-64/repodata.json.zst').map((r) => r.status)).toEqual([200]);
    expect(server.requestsTo('/cf/linux-64/repodata.json')).toEqual([]);
    expect(spools(cacheDir)).toEqual([]);
    // the next run revalidates (304) and reads the same records from the stored copy
    server.requests.length = 0;
    const again = await query(gateway(cacheDir));
    expect(mine(again, 'python')).toBe(fullRecords('python', ['linux-64']));
    expect(server.requestsTo('/cf/linux-64/repodata.json.zst').map((r) => r.status)).toEqual([304]);
  });

  it('three platforms at once: every subdir stored exactly, no spool file left', async () => {
    const cacheDir = freshCache();
    const recs = await query(gateway(cacheDir), PLATFORMS);
    for (const name of ['python', 'curl', 'openssl']) expect(mine(recs, name), name).toBe(fullRecords(name, PLATFORMS));
    for (const subdir of PLATFORMS) {
      const entry = await new RepodataCache(cacheDir).getIndexed(zstUrl(subdir));
      expect(readFileSync(entry!.jsonFile!).equals(json(subdir)), subdir).toBe(true);
    }
    expect(spools(cacheDir)).toEqual([]);
  });

  it('the body goes to a spool file on disk while it is still arriving', async () => {
    // 229 KB in 16 KiB pieces every 15 ms: ≈ 0.2 s on the wire
    server.fault({ path: '/cf/linux-64/repodata.json.zst', fault: { kind: 'trickle', bytes: 16_384, intervalMs: 15 } });
    const cacheDir = freshCache();
    let sawSpool = false;
    let done = false;
    const run = query(gateway(cacheDir)).finally(() => (done = true));
    while (!done) {
      const mid = filesOf(cacheDir, zstUrl('linux-64')).filter((f) => f.endsWith('.zst.tmp'));
      if (mid.length > 0 && server.sending('/cf/linux-64/repodata.json.zst') > 0) sawSpool = true;
      await new Promise((r) => setTimeout(r, 5));
    }
    const recs = await run;
    expect(mine(recs, 'python')).toBe(fullRecords('python', ['linux-64']));
    expect(sawSpool).toBe(true);
    expect(spools(cacheDir)).toEqual([]);
  });

  it('a body cut off once is fetched again and stored whole', async () => {
    server.fault({ path: '/cf/linux-64/repodata.json.zst', fault: { kind: 'truncate', bytes: 100_000 }, times: 1 });
    const cacheDir = freshCache();
    const recs = await query(gateway(cacheDir));
    expect(mine(recs, 'python')).toBe(fullRecords('python', ['linux-64']));
    expect(server.requestsTo('/cf/linux-64/repodata.json.zst')).toHaveLength(2);
    const entry = await new RepodataCache(cacheDir).getIndexed(zstUrl('linux-64'));
    expect(readFileSync(entry!.jsonFile!).equals(json('linux-64'))).toBe(true);
    expect(filesOf(cacheDir, zstUrl('linux-64')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a body cut off every time is a NetworkError naming the URL and leaves nothing in the cache', async () => {
    server.fault({ path: '/cf/linux-64/repodata.json.zst', fault: { kind: 'truncate', bytes: 100_000 } });
    const cacheDir = freshCache();
    const err = await query(gateway(cacheDir, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toContain('/cf/linux-64/repodata.json.zst');
    expect((err as Error).message).toMatch(/after 2 attempts/);
    expect(server.requestsTo('/cf/linux-64/repodata.json.zst')).toHaveLength(2);
    expect(await new RepodataCache(cacheDir).getIndexed(zstUrl('linux-64'))).toBeUndefined();
    expect(filesOf(cacheDir, zstUrl('linux-64'))).toEqual([]);
  });

  it.each(zstdEngines())('a corrupt body is E_BAD_RESPONSE naming the URL, not retried, nothing cached (engine %s)', async (engine) => {
    process.env.CONDA_GO_LOCK_ZSTD = engine;
    server.fault({ path: '/cf/linux-64/repodata.json.zst', fault: { kind: 'corrupt' } });
    const cacheDir = freshCache();
    const err = await query(gateway(cacheDir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_BAD_RESPONSE');
    expect((err as Error).message).toMatch(/corrupt zstd data from .*\/cf\/linux-64\/repodata\.json\.zst/);
    expect(server.requestsTo('/cf/linux-64/repodata.json.zst')).toHaveLength(1);
    expect(await new RepodataCache(cacheDir).getIndexed(zstUrl('linux-64'))).toBeUndefined();
    expect(filesOf(cacheDir, zstUrl('linux-64'))).toEqual([]);
  });

  it('a cache that cannot be written still gives the answer (the body fetched whole, decoded in memory)', async () => {
    const notADir = join(tmp, 'cache-is-a-file');
    writeFileSync(notADir, 'x');
    const recs = await query(gateway(notADir));
    expect(mine(recs, 'python')).toBe(fullRecords('python', ['linux-64']));
    expect(mine(recs, 'curl')).toBe(fullRecords('curl', ['linux-64']));
    // one streamed attempt (its spool file could not be created), then the whole body
    expect(server.requestsTo('/cf/linux-64/repodata.json.zst').map((r) => r.status)).toEqual([200, 200]);
  });
});
