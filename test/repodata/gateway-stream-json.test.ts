/**
 * A repodata.json body (no .zst on the server) is streamed from the socket straight into the
 * decoded cache file and scanned on the way (src/repodata/gateway.ts streamAndStore), instead of
 * being held whole: the stored text must be the exact file, the answers the same as the full
 * parser's, a body that breaks off or is not JSON must leave nothing in the cache, and a cache that
 * cannot be written still gives the answer (fetched whole, decoded in memory).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Channel } from '../../src/conda/channel.js';
import { InputError, NetworkError } from '../../src/errors.js';
import { HttpClient } from '../../src/net/http.js';
import { cacheKey, RepodataCache } from '../../src/repodata/cache.js';
import { Gateway } from '../../src/repodata/gateway.js';
import { RepoDataIndex } from '../../src/repodata/parse.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

const SUB = 'conda-forge-subchannel-py39-2024-05';
const SPECS = ['python', 'curl'];

describe.skipIf(!haveFixtures)('gateway: repodata.json streamed into the cache', () => {
  let server: ChannelServer;
  let tmp: string;
  let linuxJson: Buffer;
  let noarchJson: Buffer;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'cgl-gw-json-'));
    linuxJson = readFileSync(fixture('repodata', `${SUB}/linux-64/repodata.json`));
    noarchJson = readFileSync(fixture('repodata', `${SUB}/noarch/repodata.json`));
    server = await new ChannelServer().mount('/cf', fixture('repodata', SUB)).start();
    // not JSON past its first records: a body the scanner rejects
    server.route('/bad/linux-64/repodata.json', Buffer.concat([linuxJson.subarray(0, 100_000), Buffer.from('}{ nope')]), 'application/json');
    server.route('/bad/noarch/repodata.json', noarchJson, 'application/json');
    // Not standard repodata (a record's keys first: the scanner stops checking) and cut short.
    server.route('/odd/linux-64/repodata.json', '{"name": "x", "version": "1", "packages": {"curl-8.0-0.tar.bz2": {"name": "curl", "version": "8.0"', 'application/json');
    server.route('/odd/noarch/repodata.json', noarchJson, 'application/json');
  });
  afterAll(async () => {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.clearFaults();
    server.contentEncoding(undefined);
    server.requests.length = 0;
  });
  let n = 0;
  const freshCache = () => join(tmp, `cache-${n++}`);
  const gateway = (cacheDir: string, retries = 2) =>
    new Gateway({ cacheDir, zst: false, shards: false, http: new HttpClient({ retries, retryDelayMs: 1, maxRetryDelayMs: 2, timeoutMs: 10_000 }) });
  const query = (g: Gateway, path = '/cf') => g.query([Channel.parse(server.url(path))], ['linux-64'], SPECS);
  const key = (r: { subdir: string; fn: string }) => `${r.subdir}/${r.fn}`;
  /** Files in the cache's repodata folder other than metadata (<key>.json): decoded texts, indexes, temps. */
  const leftovers = (cacheDir: string) =>
    existsSync(join(cacheDir, 'repodata')) ? readdirSync(join(cacheDir, 'repodata')).filter((f) => !/^[0-9a-f]{64}\.json$/.test(f)) : [];
  /** Decoded texts, indexes and temp files of one URL's entry. */
  const filesOf = (cacheDir: string, path: string) => leftovers(cacheDir).filter((f) => f.includes(cacheKey(server.url(path))));

  /** What the full parser answers for `name` from the two files. */
  function fullRecords(name: string): string {
    const opts = (subdir: string) => ({ channel: server.url('/cf'), subdir, baseUrl: server.url(`/cf/${subdir}/`) });
    const recs = [...new RepoDataIndex(linuxJson, opts('linux-64')).records(name), ...new RepoDataIndex(noarchJson, opts('noarch')).records(name)];
    return JSON.stringify(recs.sort((a, b) => key(a).localeCompare(key(b))));
  }
  const mine = (recs: Awaited<ReturnType<Gateway['query']>>, name: string) =>
    JSON.stringify(recs.filter((r) => r.name === name).sort((a, b) => key(a).localeCompare(key(b))));

  it.each([undefined, 'gzip'] as const)('stores the exact file and answers like the full parser (content-encoding %s)', async (enc) => {
    server.contentEncoding(enc);
    const cacheDir = freshCache();
    const recs = await query(gateway(cacheDir));
    for (const name of ['python', 'curl', 'openssl', 'pip']) {
      expect(mine(recs, name), name).not.toBe('[]');
      expect(mine(recs, name), name).toBe(fullRecords(name));
    }
    const entry = await new RepodataCache(cacheDir).getIndexed(server.url('/cf/linux-64/repodata.json'));
    expect(entry?.jsonFile).toBeDefined();
    expect(readFileSync(entry!.jsonFile!).equals(linuxJson)).toBe(true);
    expect(server.requestsTo('/cf/linux-64/repodata.json').map((r) => r.status)).toEqual([200]);
    if (enc) expect(server.requestsTo('/cf/linux-64/repodata.json')[0]!.headers['accept-encoding']).toContain(enc);
    // the next run revalidates (304) and reads the same records from the stored copy
    server.requests.length = 0;
    const again = await query(gateway(cacheDir));
    expect(mine(again, 'python')).toBe(fullRecords('python'));
    expect(server.requestsTo('/cf/linux-64/repodata.json').map((r) => r.status)).toEqual([304]);
  });

  it('writes the cache file while the body is still arriving', async () => {
    // 2.2 MB in 64 KiB pieces every 15 ms: ≈ 0.5 s on the wire
    server.fault({ path: '/cf/linux-64/repodata.json', fault: { kind: 'trickle', bytes: 65_536, intervalMs: 15 } });
    const cacheDir = freshCache();
    let sawTemp = false;
    let done = false;
    const run = query(gateway(cacheDir)).finally(() => (done = true));
    while (!done) {
      const temps = filesOf(cacheDir, '/cf/linux-64/repodata.json').filter((f) => f.endsWith('.tmp'));
      // a temp file next to the metadata exists only while a body is being written into it
      if (temps.length > 0 && server.sending('/cf/linux-64/repodata.json') > 0) sawTemp = true;
      await new Promise((r) => setTimeout(r, 5));
    }
    const recs = await run;
    expect(mine(recs, 'python')).toBe(fullRecords('python'));
    expect(sawTemp).toBe(true);
  });

  it('a body cut off once is fetched again and stored whole', async () => {
    server.fault({ path: '/cf/linux-64/repodata.json', fault: { kind: 'truncate', bytes: 500_000 }, times: 1 });
    const cacheDir = freshCache();
    const recs = await query(gateway(cacheDir));
    expect(mine(recs, 'python')).toBe(fullRecords('python'));
    expect(server.requestsTo('/cf/linux-64/repodata.json')).toHaveLength(2);
    const entry = await new RepodataCache(cacheDir).getIndexed(server.url('/cf/linux-64/repodata.json'));
    expect(readFileSync(entry!.jsonFile!).equals(linuxJson)).toBe(true);
    expect(filesOf(cacheDir, '/cf/linux-64/repodata.json').filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a body cut off every time is a NetworkError naming the URL and leaves nothing in the cache', async () => {
    server.fault({ path: '/cf/linux-64/repodata.json', fault: { kind: 'truncate', bytes: 500_000 } });
    const cacheDir = freshCache();
    const err = await query(gateway(cacheDir, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toContain('/cf/linux-64/repodata.json');
    expect((err as Error).message).toMatch(/after 2 attempts/);
    expect(server.requestsTo('/cf/linux-64/repodata.json')).toHaveLength(2);
    expect(await new RepodataCache(cacheDir).getIndexed(server.url('/cf/linux-64/repodata.json'))).toBeUndefined();
    expect(filesOf(cacheDir, '/cf/linux-64/repodata.json')).toEqual([]);
  });

  it('a body that is not valid repodata JSON is E_REPODATA_INVALID, not retried, nothing cached', async () => {
    const cacheDir = freshCache();
    const err = await query(gateway(cacheDir), '/bad').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('E_REPODATA_INVALID');
    expect((err as Error).message).toContain('/bad/linux-64/repodata.json');
    expect(server.requestsTo('/bad/linux-64/repodata.json')).toHaveLength(1);
    expect(await new RepodataCache(cacheDir).getIndexed(server.url('/bad/linux-64/repodata.json'))).toBeUndefined();
    expect(filesOf(cacheDir, '/bad/linux-64/repodata.json')).toEqual([]);
  });

  it('a non-standard body cut short fails when read and is dropped from the cache, not served after a 304 next time', async () => {
    const cacheDir = freshCache();
    const url = server.url('/odd/linux-64/repodata.json');
    const err = await query(gateway(cacheDir), '/odd').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    // the entry is removed (asynchronously, as the error propagates)
    for (let i = 0; i < 50 && (await new RepodataCache(cacheDir).getIndexed(url)) !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await new RepodataCache(cacheDir).getIndexed(url)).toBeUndefined();
    expect(filesOf(cacheDir, '/odd/linux-64/repodata.json')).toEqual([]);
  });

  it('a cache that cannot be written still gives the answer (the body fetched whole, decoded in memory)', async () => {
    const notADir = join(tmp, 'cache-is-a-file');
    writeFileSync(notADir, 'x');
    const recs = await query(gateway(notADir));
    expect(mine(recs, 'python')).toBe(fullRecords('python'));
    expect(mine(recs, 'curl')).toBe(fullRecords('curl'));
    // one streamed attempt (its cache file could not be created), then the whole body
    expect(server.requestsTo('/cf/linux-64/repodata.json').map((r) => r.status)).toEqual([200, 200]);
  });
});
