/**
 * A response body that cannot be read must not stay in the cache: the server would answer later
 * revalidations with 304 and the bad copy would be served forever.
 */
import { mkdtemp, rm } from 'node:fs/promises';
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

    server.requests.length = 0;
    const recs = await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']);
    expect(recs.some((r) => r.name === 'python' && r.subdir === 'osx-arm64')).toBe(true);
    const hits = server.requestsTo('/cf/osx-arm64/repodata.json.zst');
    expect(hits.map((r) => r.status)).toEqual([200]);
    expect(hits[0]!.headers['if-none-match']).toBeUndefined();
  });

  it('a bad copy already in the cache (revalidated by 304) is refetched in full within the same run', async () => {
    const cacheDir = join(tmp, 'b');
    const url = server.url('/cf/osx-arm64/repodata.json.zst');
    // Fill the cache normally, then spoil the cached body (same size, so only decoding notices).
    await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']);
    const cache = new RepodataCache(cacheDir);
    const good = await cache.get(url);
    const spoilt = Buffer.from(good!.body!);
    for (let i = 0; i < spoilt.length; i += 50) spoilt[i] = spoilt[i]! ^ 0xff;
    await cache.put(url, spoilt, { etag: good!.meta.etag, lastModified: good!.meta.lastModified });

    server.requests.length = 0;
    const recs = await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']);
    expect(recs.some((r) => r.name === 'python' && r.subdir === 'osx-arm64')).toBe(true);
    expect(server.requestsTo('/cf/osx-arm64/repodata.json.zst').map((r) => r.status)).toEqual([304, 200]);
    expect((await cache.get(url))!.body!.equals(good!.body!)).toBe(true);
  });

  it('offline, a bad cached copy is an error and is dropped (the next offline run reports a cache miss)', async () => {
    const cacheDir = join(tmp, 'c');
    const url = server.url('/cf/osx-arm64/repodata.json.zst');
    await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']);
    const cache = new RepodataCache(cacheDir);
    const good = await cache.get(url);
    await cache.put(url, Buffer.alloc(good!.body!.length, 7), { etag: good!.meta.etag });
    const err = await gateway(cacheDir, true).query([Channel.parse(server.url('/cf'))], ['osx-arm64'], ['python']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(await cache.get(url)).toBeUndefined();
  });
});
