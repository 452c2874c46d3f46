import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Channel } from '../../src/conda/channel.js';
import { Gateway, specName, type GatewayOptions } from '../../src/repodata/gateway.js';
import { defaultCacheDir } from '../../src/repodata/cache.js';
import { parseRepoData } from '../../src/repodata/parse.js';
import { HttpClient } from '../../src/net/http.js';
import { isZstd } from '../../src/compress/zstd.js';
import { IntegrityError, NetworkError, OfflineCacheMissError } from '../../src/errors.js';
import { ChannelServer, startChannelServer } from '../support/channel-server.js';
import { fixture, haveFixtures } from '../support/fixtures.js';
import { haveZstdCli, writeShardedSubdir } from '../support/shards.js';

const ZLIB_SHARD = '56a0c19b47ba1a2d0f1390eda489b1c49a00d35814571057e6d81e0c93dfd157';
const LIBGCC_SHARD = '2dcdacf7009b4f1c21f452c5079384340257e0e1cbecb8ec484984d1fa85b115';

let server: ChannelServer;
let tmp: string;
let n = 0;

async function freshCacheDir(): Promise<string> {
  return mkdtemp(join(tmp, `cache-${n++}-`));
}
function gateway(cacheDir: string, extra: GatewayOptions = {}): Gateway {
  return new Gateway({
    cacheDir,
    http: new HttpClient({ retries: 2, retryDelayMs: 1, maxRetryDelayMs: 5, timeoutMs: 5_000 }),
    ...extra,
  });
}
const chan = (path: string) => Channel.parse(server.url(path));
const statuses = (re: RegExp) => server.requestsTo(re).map((r) => r.status);

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return out;
}

beforeAll(async () => {
  server = await startChannelServer();
  tmp = await mkdtemp(join(tmpdir(), 'cgl-gateway-'));
  if (haveFixtures) {
    server.mount('/sharded', fixture('shards', 'conda-format-repo'));
    server.mount('/cf', fixture('repodata', 'conda-forge-subchannel-py39-2024-05'));
    server.mount('/t/secret-tok-42/cf', fixture('repodata', 'conda-forge-subchannel-py39-2024-05'));
    server.mount('/fmt', fixture('repodata', 'conda-format-repo'));
  }
});
afterAll(async () => {
  await server.stop();
  await rm(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  server.clearFaults();
  server.requests.length = 0;
});

describe('specName', () => {
  it.each([
    ['python >=3.9', 'python'],
    ['libgcc-ng >=7.3.0', 'libgcc-ng'],
    ['conda-forge::numpy', 'numpy'],
    ['conda-forge/linux-64::numpy>=1.2', 'numpy'],
    ['python_abi 3.9.* *_cp39', 'python_abi'],
    ['pkg[version=">=1"]', 'pkg'],
    ['numpy=1.26', 'numpy'],
    ['__glibc >=2.17', '__glibc'],
    ['Foo', 'foo'],
  ])('%s → %s', (spec, name) => expect(specName(spec)).toBe(name));
});

describe.skipIf(!haveFixtures)('Gateway with CEP-16 shards (conda-format-repo fixture)', () => {
  it('fetches only the shards reachable from the specs', async () => {
    const gw = gateway(await freshCacheDir());
    const recs = await gw.query([chan('/sharded')], ['linux-64'], ['libgcc-ng']);
    expect(recs.map((r) => r.fn)).toEqual(['libgcc-ng-8.2.0-hdf63c60_1.tar.bz2']);
    expect(statuses(new RegExp(`${LIBGCC_SHARD}`))).toEqual([200]);
    expect(server.requestsTo(new RegExp(ZLIB_SHARD))).toHaveLength(0);
    // The full repodata is never downloaded when shards exist.
    expect(server.requestsTo('/sharded/linux-64/repodata.json')).toHaveLength(0);
    expect(recs[0]!.url).toBe(server.url('/sharded/linux-64/libgcc-ng-8.2.0-hdf63c60_1.tar.bz2'));
    expect(recs[0]!.channel).toBe(server.url('/sharded'));
  });

  it('follows depends transitively (zlib → libgcc-ng) and prefers .conda inside a shard', async () => {
    const gw = gateway(await freshCacheDir());
    const res = await gw.queryWithNames([chan('/sharded')], ['linux-64'], [{ name: 'zlib' }]);
    expect(res.names).toEqual(['libgcc-ng', 'zlib']);
    expect(res.records.map((r) => r.fn).sort()).toEqual(['libgcc-ng-8.2.0-hdf63c60_1.tar.bz2', 'zlib-1.2.11-h7b6447c_3.conda']);
    expect(server.requestsTo(new RegExp(ZLIB_SHARD))).toHaveLength(1);
    expect(server.requestsTo(new RegExp(LIBGCC_SHARD))).toHaveLength(1);
    const zlib = res.records.find((r) => r.name === 'zlib')!;
    expect(zlib.sha256).toBe('f33afff2144e1d6c4cf2e3e184937db8bf825b4537df74662aea5ee207b6a31b');
    expect(zlib.timestamp).toBe(1542814864621);
  });

  it('rejects a shard whose bytes do not match its sha256 (IntegrityError) and does not cache it', async () => {
    const cacheDir = await freshCacheDir();
    server.fault({ path: new RegExp(`${ZLIB_SHARD}\\.msgpack\\.zst$`), fault: { kind: 'corrupt' } });
    const err = await gateway(cacheDir).query([chan('/sharded')], ['linux-64'], ['zlib']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect((err as Error).message).toContain(ZLIB_SHARD);
    expect((err as Error).message).toContain("'zlib'");
    const files = await listFiles(cacheDir);
    expect(files.some((f) => f.includes(ZLIB_SHARD))).toBe(false);
  });

  it('serves shards from the content-addressed cache without any shard request the second time', async () => {
    const cacheDir = await freshCacheDir();
    await gateway(cacheDir).query([chan('/sharded')], ['linux-64'], ['zlib']);
    server.requests.length = 0;
    const recs = await gateway(cacheDir).query([chan('/sharded')], ['linux-64'], ['zlib']);
    expect(recs).toHaveLength(2);
    expect(server.requestsTo(/\.msgpack\.zst$/).filter((r) => !r.path.endsWith('repodata_shards.msgpack.zst'))).toHaveLength(0);
    expect(statuses(/repodata_shards\.msgpack\.zst$/)).toContain(304);
  });

  it('a warm lock reads the shard index and the shards decompressed from the cache (no zstd); a torn copy is a miss, an old compressed copy is converted', async () => {
    const cacheDir = await freshCacheDir();
    const first = await gateway(cacheDir).query([chan('/sharded')], ['linux-64'], ['zlib']);
    const files = await listFiles(cacheDir);
    // the shards as msgpack (after a 32-byte sha256 of it), no compressed copies
    const shardFiles = files.filter((f) => f.includes('/shards/'));
    expect(shardFiles.map((f) => f.split('/').pop()).sort()).toEqual([`${LIBGCC_SHARD}.msgpack`, `${ZLIB_SHARD}.msgpack`]);
    for (const f of shardFiles) expect(isZstd((await readFile(f)).subarray(32))).toBe(false);
    // the index body kept decompressed (a msgpack map), under the same validators
    const bodies = files.filter((f) => f.endsWith('.bin'));
    expect(bodies.length).toBeGreaterThan(0);
    for (const f of bodies) expect(isZstd(await readFile(f))).toBe(false);

    const warm = async () => {
      server.requests.length = 0;
      const recs = await gateway(cacheDir).query([chan('/sharded')], ['linux-64'], ['zlib']);
      expect(recs).toEqual(first);
      // (noarch has no shard index here: 404)
      expect(statuses(/repodata_shards\.msgpack\.zst$/).sort()).toEqual([304, 404]);
      return server.requestsTo(/[0-9a-f]{64}\.msgpack\.zst$/).length;
    };
    expect(await warm()).toBe(0);
    // a torn decoded shard: fetched again (one request), verified, stored again
    const zlibFile = shardFiles.find((f) => f.includes(ZLIB_SHARD))!;
    const whole = await readFile(zlibFile);
    await writeFile(zlibFile, whole.subarray(0, whole.length - 3));
    expect(await warm()).toBe(1);
    expect(await readFile(zlibFile)).toEqual(whole);
    // a compressed shard as an older cache kept it: used without a request, then stored decompressed
    await rm(zlibFile);
    const served = await readFile(join(fixture('shards', 'conda-format-repo'), 'linux-64', `${ZLIB_SHARD}.msgpack.zst`));
    await writeFile(join(dirname(zlibFile), `${ZLIB_SHARD}.msgpack.zst`), served);
    expect(await warm()).toBe(0);
    expect(await readFile(zlibFile)).toEqual(whole);
  });

  it('subdirRecords returns every record of the subdir', async () => {
    const recs = await gateway(await freshCacheDir()).subdirRecords(chan('/sharded'), 'linux-64');
    expect(recs.map((r) => r.name).sort()).toEqual(['libgcc-ng', 'zlib']);
  });
});

describe.skipIf(!haveZstdCli)('Gateway with generated shards', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmp, 'gen-'));
    await writeShardedSubdir(dir, {
      subdir: 'linux-64',
      shardsBaseUrl: 'shards/',
      baseUrl: 'https://pkgs.example/mirror/linux-64/',
      hashesAsBin: true,
      records: [
        { name: 'a', version: '1.0', build: 'h1_0', depends: ['b >=1', '__glibc >=2.17'] },
        { name: 'a', version: '0.9', build: 'h1_0', depends: [], ext: '.tar.bz2' },
        { name: 'b', version: '1.2', build: 'h2_0', depends: ['c'] },
        { name: 'c', version: '3.0', build: 'h3_0', depends: ['missing-dep'] },
        { name: 'd', version: '1.0', build: 'h4_0', depends: ['a'] },
        { name: 'unrelated', version: '1.0', build: 'h5_0' },
      ],
    });
    await writeShardedSubdir(dir, { subdir: 'noarch', records: [{ name: 'b', version: '2.0', build: 'pyh_0', noarch: 'python' }] });
    server.mount('/gen', dir);
  });

  it('fetches exactly the closure a → b → c over linux-64 and noarch, with bin hashes as hex', async () => {
    const gw = gateway(await freshCacheDir());
    const res = await gw.queryWithNames([chan('/gen')], ['linux-64'], ['a >=0.9']);
    expect(res.names).toEqual(['a', 'b', 'c']);
    expect(res.missing).toEqual(['missing-dep']);
    expect(res.records.map((r) => `${r.subdir}/${r.fn}`)).toEqual([
      'linux-64/a-1.0-h1_0.conda',
      'linux-64/a-0.9-h1_0.tar.bz2',
      'linux-64/b-1.2-h2_0.conda',
      'linux-64/c-3.0-h3_0.conda',
      'noarch/b-2.0-pyh_0.conda',
    ]);
    const shardRequests = server.requestsTo(/^\/gen\/.*[0-9a-f]{64}\.msgpack\.zst$/);
    // a, b, c under linux-64/shards/ plus b under noarch; never d or unrelated.
    expect(shardRequests).toHaveLength(4);
    expect(shardRequests.filter((r) => r.path.startsWith('/gen/linux-64/shards/'))).toHaveLength(3);
    const a = res.records[0]!;
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.md5).toMatch(/^[0-9a-f]{32}$/);
    expect(a.url).toBe('https://pkgs.example/mirror/linux-64/a-1.0-h1_0.conda');
    const nb = res.records[4]!;
    expect(nb.url).toBe(server.url('/gen/noarch/b-2.0-pyh_0.conda'));
    expect(nb.noarch).toBe('python');
  });
});

describe.skipIf(!haveFixtures)('Gateway fallback chain, cache and errors', () => {
  it('uses repodata.json.zst when there is no shard index', async () => {
    const gw = gateway(await freshCacheDir());
    const res = await gw.queryWithNames([chan('/cf')], ['linux-64'], ['python 3.9.*']);
    expect(statuses(/^\/cf\/linux-64\/repodata_shards\.msgpack\.zst$/)).toEqual([404]);
    expect(statuses(/^\/cf\/linux-64\/repodata\.json\.zst$/)).toEqual([200]);
    expect(server.requestsTo('/cf/linux-64/repodata.json')).toHaveLength(0);
    expect(res.names).toEqual(expect.arrayContaining(['python', 'openssl', 'libgcc-ng', 'ca-certificates', 'pip']));
    // Same records as parsing the plain JSON file directly, restricted to the reachable names.
    const direct = parseRepoData(await readFile(fixture('repodata', 'conda-forge-subchannel-py39-2024-05', 'linux-64', 'repodata.json')));
    const reachable = new Set(res.names);
    const fromLinux = res.records.filter((r) => r.subdir === 'linux-64');
    expect(fromLinux.length).toBe(direct.filter((r) => reachable.has(r.name)).length);
    // Every dependency of every record is either reachable or reported missing (the closure is complete).
    const known = new Set([...res.names, ...res.missing]);
    for (const r of res.records) for (const d of r.depends) if (!specName(d).startsWith('__')) expect(known.has(specName(d))).toBe(true);
    expect(res.records.every((r) => r.channel === server.url('/cf'))).toBe(true);
  });

  it('falls back to repodata.json when neither shards nor zst exist', async () => {
    const gw = gateway(await freshCacheDir());
    const recs = await gw.query([chan('/fmt')], ['linux-64'], ['zlib']);
    expect(statuses(/^\/fmt\/linux-64\/repodata_shards\.msgpack\.zst$/)).toEqual([404]);
    expect(statuses(/^\/fmt\/linux-64\/repodata\.json\.zst$/)).toEqual([404]);
    expect(statuses(/^\/fmt\/linux-64\/repodata\.json$/)).toEqual([200]);
    expect(recs.map((r) => r.fn).sort()).toEqual(['libgcc-ng-8.2.0-hdf63c60_1.tar.bz2', 'zlib-1.2.11-h7b6447c_3.conda']);
  });

  it('revalidates with If-None-Match on the second run and uses the cache on 304', async () => {
    const cacheDir = await freshCacheDir();
    const first = await gateway(cacheDir).query([chan('/cf')], ['osx-arm64'], ['python']);
    server.requests.length = 0;
    const second = await gateway(cacheDir).query([chan('/cf')], ['osx-arm64'], ['python']);
    expect(second).toEqual(first);
    const zst = server.requestsTo(/^\/cf\/(osx-arm64|noarch)\/repodata\.json\.zst$/);
    expect(zst).toHaveLength(2);
    for (const r of zst) {
      expect(r.status).toBe(304);
      expect(r.headers['if-none-match']).toMatch(/^"/);
    }
    expect(server.requests.filter((r) => r.status === 200)).toHaveLength(0);
  });

  it('offline: answers from the cache without a request, and names the URL on a miss', async () => {
    const cacheDir = await freshCacheDir();
    const online = await gateway(cacheDir).query([chan('/fmt')], ['linux-64'], ['zlib']);
    server.requests.length = 0;
    const offline = await gateway(cacheDir, { offline: true }).query([chan('/fmt')], ['linux-64'], ['zlib']);
    expect(offline).toEqual(online);
    expect(server.requests).toHaveLength(0);

    const err = await gateway(await freshCacheDir(), { offline: true })
      .query([chan('/fmt')], ['linux-64'], ['zlib'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfflineCacheMissError);
    expect((err as Error).message).toMatch(/\/fmt\/(linux-64|noarch)\/repodata\.json/);
    expect(server.requests).toHaveLength(0);
  });

  it('keeps tokens out of records, cache files and errors', async () => {
    const cacheDir = await freshCacheDir();
    const tokenChannel = Channel.parse(server.url('/t/secret-tok-42/cf'));
    const recs = await gateway(cacheDir).query([tokenChannel], ['win-arm64'], ['bzip2']);
    expect(recs.length).toBeGreaterThan(0);
    expect(server.requestsTo(/^\/t\/secret-tok-42\/cf\/win-arm64\/repodata\.json\.zst$/)).toHaveLength(1);
    expect(JSON.stringify(recs)).not.toContain('secret-tok-42');
    const files = await listFiles(cacheDir);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      expect(f).not.toContain('secret-tok-42');
      expect((await readFile(f)).includes('secret-tok-42')).toBe(false);
    }
    const meta = files.filter((f) => f.endsWith('.json'));
    expect(meta.length).toBeGreaterThan(0);
    const parsed = JSON.parse(await readFile(meta[0]!, 'utf8')) as { url: string; etag?: string };
    expect(parsed.url).toContain('/t/********/cf/');

    const missing = Channel.parse(server.url('/t/secret-tok-42/nope'));
    const err = await gateway(cacheDir).query([missing], ['linux-64'], ['x']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_CHANNEL_NOT_FOUND');
    expect((err as Error).message).toMatch(/channel not found/);
    expect((err as Error).message).not.toContain('secret-tok-42');
    expect(String((err as NetworkError).url)).not.toContain('secret-tok-42');
  });

  it('sends user:password@ channel credentials as Basic auth, never to disk', async () => {
    const cacheDir = await freshCacheDir();
    const withAuth = Channel.parse(server.url('/fmt').replace('http://', 'http://alice:pw-SECRET-9@'));
    const recs = await gateway(cacheDir).query([withAuth], ['osx-64'], ['zlib']);
    expect(recs.map((r) => r.fn)).toEqual(['zlib-1.2.11-h1de35cc_3.conda']);
    const req = server.requestsTo('/fmt/osx-64/repodata.json')[0]!;
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('alice:pw-SECRET-9').toString('base64')}`);
    expect(JSON.stringify(recs)).not.toContain('pw-SECRET-9');
    for (const f of await listFiles(cacheDir)) expect((await readFile(f)).includes('pw-SECRET-9')).toBe(false);
  });

  it('retries a 500 and then succeeds', async () => {
    server.fault({ path: '/cf/noarch/repodata.json.zst', fault: { kind: 'status', status: 500 }, times: 1 });
    const recs = await gateway(await freshCacheDir()).query([chan('/cf')], ['win-arm64'], ['tzdata']);
    expect(statuses(/^\/cf\/noarch\/repodata\.json\.zst$/)).toEqual([500, 200]);
    expect(recs.some((r) => r.name === 'tzdata')).toBe(true);
  });

  it('a non-404 failure is a NetworkError, not a fallback', async () => {
    server.fault({ path: '/cf/linux-64/repodata_shards.msgpack.zst', fault: { kind: 'status', status: 403 } });
    const err = await gateway(await freshCacheDir()).query([chan('/cf')], ['linux-64'], ['python']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).status).toBe(403);
    expect(server.requestsTo('/cf/linux-64/repodata.json.zst')).toHaveLength(0);
  });

  it('corrupt zstd repodata is a NetworkError (no hang)', async () => {
    server.fault({ path: '/cf/osx-arm64/repodata.json.zst', fault: { kind: 'corrupt' } });
    const err = await gateway(await freshCacheDir()).query([chan('/cf')], ['osx-arm64'], ['python']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_BAD_RESPONSE');
  });

  it('a missing subdir is empty; noarch still answers', async () => {
    const recs = await gateway(await freshCacheDir()).query([chan('/fmt')], ['linux-aarch64'], ['zlib']);
    expect(recs).toEqual([]);
    expect(statuses(/^\/fmt\/linux-aarch64\//)).toEqual([404, 404, 404]);
    expect(statuses(/^\/fmt\/noarch\/repodata\.json$/)).toEqual([200]);
  });

  it('a channel with no subdir at all is "channel not found"', async () => {
    const err = await gateway(await freshCacheDir()).query([chan('/does-not-exist')], ['linux-64'], ['zlib']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_CHANNEL_NOT_FOUND');
    expect((err as Error).message).toContain(server.url('/does-not-exist'));
  });

  it('offline remembers 404s: a subdir missing online is empty offline too', async () => {
    const cacheDir = await freshCacheDir();
    await gateway(cacheDir).query([chan('/fmt')], ['linux-aarch64'], ['zlib']);
    server.requests.length = 0;
    const recs = await gateway(cacheDir, { offline: true }).query([chan('/fmt')], ['linux-aarch64'], ['zlib']);
    expect(recs).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('file:// channels are read from disk, without cache entries', async () => {
    const cacheDir = await freshCacheDir();
    const local = Channel.parse(fixture('repodata', 'conda-format-repo'));
    const recs = await gateway(cacheDir).query([local], ['win-64'], ['zlib']);
    expect(recs.map((r) => r.fn)).toContain('zlib-1.2.11-h62dcd97_3.conda');
    expect(recs[0]!.url.startsWith('file://')).toBe(true);
    expect(server.requests).toHaveLength(0);
    expect(await listFiles(cacheDir)).toEqual([]);
  });

  it('one gateway reads each subdir once across queries (multi-platform locks share noarch)', async () => {
    const gw = gateway(await freshCacheDir());
    const linux = await gw.query([chan('/cf')], ['linux-64'], ['python']);
    const osx = await gw.query([chan('/cf')], ['osx-arm64'], ['python']);
    expect(server.requestsTo('/cf/noarch/repodata.json.zst')).toHaveLength(1);
    const noarchFns = (recs: typeof linux) => recs.filter((r) => r.subdir === 'noarch').map((r) => r.fn);
    expect(noarchFns(osx)).toEqual(noarchFns(linux));
    expect(osx.some((r) => r.subdir === 'osx-arm64')).toBe(true);
  });

  it('queries several channels and subdirs concurrently, keeping channel order', async () => {
    const recs = await gateway(await freshCacheDir()).query([chan('/fmt'), chan('/sharded')], ['linux-64'], ['zlib']);
    const channels = [...new Set(recs.map((r) => r.channel))];
    expect(channels).toEqual([server.url('/fmt'), server.url('/sharded')]);
  });
});

describe('defaultCacheDir', () => {
  it.each([
    [{ CONDA_GO_LOCK_CACHE: '/x/cache', XDG_CACHE_HOME: '/xdg' }, '/x/cache'],
    [{ XDG_CACHE_HOME: '/xdg' }, '/xdg/conda-go-lock'],
  ])('%j → %s', (env, expected) => expect(defaultCacheDir(env as NodeJS.ProcessEnv)).toBe(expected));
  it('falls back to ~/.cache/conda-go-lock', () => {
    expect(defaultCacheDir({})).toMatch(/\.cache[/\\]conda-go-lock$/);
  });
});
