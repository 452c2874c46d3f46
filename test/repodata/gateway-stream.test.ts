/**
 * A repodata.json.zst body is decompressed in pieces straight into the decoded cache file and
 * scanned on the way (src/repodata/gateway.ts inflateToFile): the stored text must be the exact
 * decompressed file, its records the same as the full parser's, and a body that breaks off mid-stream
 * must leave nothing behind in the cache.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../src/conda/channel.js';
import { NetworkError } from '../../src/errors.js';
import { HttpClient } from '../../src/net/http.js';
import { cacheKey, RepodataCache } from '../../src/repodata/cache.js';
import { Gateway } from '../../src/repodata/gateway.js';
import { RepoDataIndex } from '../../src/repodata/parse.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, haveFixtures } from '../support/fixtures.js';

const SUB = 'conda-forge-subchannel-py39-2024-05';

describe.skipIf(!haveFixtures)('gateway: .zst decompressed and scanned in pieces into the cache', () => {
  let server: ChannelServer;
  let tmp: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'cgl-gw-stream-'));
    const cut = join(tmp, 'cut');
    mkdirSync(join(cut, 'linux-64'), { recursive: true });
    const zst = readFileSync(fixture('repodata', `${SUB}/linux-64/repodata.json.zst`));
    writeFileSync(join(cut, 'linux-64', 'repodata.json.zst'), zst.subarray(0, Math.floor(zst.length * 0.6)));
    server = await new ChannelServer().mount('/cf', fixture('repodata', SUB)).mount('/cut', cut).start();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  const gateway = (cacheDir: string) => new Gateway({ cacheDir, http: new HttpClient({ retries: 0, timeoutMs: 10_000 }) });

  it('stores the exact decompressed text and answers like the full parser', async () => {
    const cacheDir = join(tmp, 'ok');
    const recs = await gateway(cacheDir).query([Channel.parse(server.url('/cf'))], ['linux-64'], ['python']);
    const entry = await new RepodataCache(cacheDir).getIndexed(server.url('/cf/linux-64/repodata.json.zst'));
    expect(entry?.jsonFile).toBeDefined();
    const json = readFileSync(fixture('repodata', `${SUB}/linux-64/repodata.json`));
    expect(readFileSync(entry!.jsonFile!).equals(json)).toBe(true);
    const full = new RepoDataIndex(json, { channel: server.url('/cf'), subdir: 'linux-64', baseUrl: server.url('/cf/linux-64/') });
    const mine = recs.filter((r) => r.name === 'python' && r.subdir === 'linux-64');
    expect(mine.length).toBeGreaterThan(0);
    expect(JSON.stringify(mine)).toBe(JSON.stringify(full.records('python')));
  });

  it('a body that breaks off mid-stream is E_BAD_RESPONSE and leaves no decoded or temp file', async () => {
    const cacheDir = join(tmp, 'cut');
    const err = await gateway(cacheDir)
      .query([Channel.parse(server.url('/cut'))], ['linux-64'], ['python'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_BAD_RESPONSE');
    expect((err as Error).message).toContain('/cut/linux-64/repodata.json.zst');
    // only this URL's files: noarch's 404 entries may still be being written when the query fails
    const key = cacheKey(server.url('/cut/linux-64/repodata.json.zst'));
    const left = readdirSync(join(cacheDir, 'repodata')).filter((f) => f.includes(key) && !/^[0-9a-f]{64}\.json$/.test(f));
    expect(left).toEqual([]);
    expect(await new RepodataCache(cacheDir).getIndexed(server.url('/cut/linux-64/repodata.json.zst'))).toBeUndefined();
  });
});
