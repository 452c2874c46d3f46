/**
 * A response body that cannot be read must not stay in the cache: the server would answer later
 * revalidations with 304 and the bad copy would be served forever.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../src/conda/channel.js';
import { NetworkError } from '../../src/errors.js';
import { HttpClient } from '../../src/net/http.js';
import { RepodataCache } from '../../src/repodata/cache.js';
import { Gateway } from '../../src/repodata/gateway.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

describe.skipIf(!haveFixtures)('gateway: an unreadable cached body is not kept', () => {
  let server: ChannelServer;
  let tmp: string;
  beforeAll(async () => {
    server = await new ChannelServer().mount('/cf', fixture('repodata', 'conda-forge-subchannel-py39-2024-05')).start();
    tmp = await mkdtemp(join(tmpdir(), 'cgl-gw-recovery-'));
  });
  afterAll(async () => {
    await server.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  const gateway = (cacheDir: string, offline = false) =>
    new Gateway({
      cacheDir,
      offline,
      http: new HttpClient({ retries: 1, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 5_000 }),
    });

  it('a corrupt body served once (with the good ETag) is dropped; the next run refetches and succeeds', async () => {
    const cacheDir = join(tmp, 'a');
    const url = server.url('/cf/osx-arm64/repodata.json.zst');
    server.fault({ path: '/cf/osx-arm64/repodata.json.zst', fault: { kind: 'corrupt' }, times: 1 });
    const err = await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_BAD_RESPONSE');
    // Nothing unreadable is left behind for the next run to revalidate.
    expect(await new RepodataCache(cacheDir).get(url)).toBeUndefined();
    expect(await new RepodataCache(cacheDir).getIndexed(url)).toBeUndefined();

    server.requests.length = 0;
    const recs = await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']);
    expect(recs.some((r) => r.name === 'python' && r.subdir === 'osx-arm64')).toBe(true);
    const hits = server.requestsTo('/cf/osx-arm64/repodata.json.zst');
    expect(hits.map((r) => r.status)).toEqual([200]);
    expect(hits[0]!.headers['if-none-match']).toBeUndefined();
  });

  /** Spoil the cached decoded copy of `url` without changing its size or its structure: every
   * `"version":` becomes `"version" ` (JSON.parse fails on the records, the name index still fits). */
  async function spoilCachedCopy(cache: RepodataCache, url: string): Promise<string> {
    const entry = await cache.getIndexed(url);
    expect(entry?.jsonFile).toBeDefined();
    const file = entry!.jsonFile!;
    const text = await readFile(file, 'latin1');
    const spoilt = text.replaceAll('"version":', '"version" ');
    expect(spoilt).not.toBe(text);
    await writeFile(file, spoilt, 'latin1');
    return text;
  }

  it('a bad copy already in the cache (revalidated by 304) is refetched in full within the same run', async () => {
    const cacheDir = join(tmp, 'b');
    const url = server.url('/cf/osx-arm64/repodata.json.zst');
    // Fill the cache normally, then spoil the cached copy (same size, so only reading records notices).
    await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']);
    const cache = new RepodataCache(cacheDir);
    const good = await spoilCachedCopy(cache, url);

    server.requests.length = 0;
    const recs = await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']);
    expect(recs.some((r) => r.name === 'python' && r.subdir === 'osx-arm64')).toBe(true);
    expect(server.requestsTo('/cf/osx-arm64/repodata.json.zst').map((r) => r.status)).toEqual([304, 200]);
    const again = await cache.getIndexed(url);
    expect(await readFile(again!.jsonFile!, 'latin1')).toBe(good);
  });

  it('offline, a bad cached copy is an error and is dropped (the next offline run reports a cache miss)', async () => {
    const cacheDir = join(tmp, 'c');
    const url = server.url('/cf/osx-arm64/repodata.json.zst');
    await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']);
    const cache = new RepodataCache(cacheDir);
    await spoilCachedCopy(cache, url);
    const err = await gateway(cacheDir, true).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_BAD_RESPONSE');
    expect(await cache.getIndexed(url)).toBeUndefined();
    const again = await gateway(cacheDir, true).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']).catch((e: unknown) => e);
    expect((again as Error).constructor.name).toBe('OfflineCacheMissError');
  });
});
