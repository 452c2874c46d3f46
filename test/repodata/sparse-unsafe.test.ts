/**
 * Issue 8 on the sparse path: a record whose build string (or name, version, fn) could form a path
 * outside the prefix is dropped when its name's records are materialised by the sparse index — from
 * memory, from the decoded cache file, cold and warm — with ONE warning per channel subdir, exactly as
 * the full parser (parse.ts RepoDataIndex) does.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../src/conda/channel.js';
import { HttpClient } from '../../src/net/http.js';
import { ProgressReporter } from '../../src/net/progress.js';
import { RepodataCache } from '../../src/repodata/cache.js';
import { Gateway } from '../../src/repodata/gateway.js';
import { RepoDataIndex } from '../../src/repodata/parse.js';
import { scanRepoData, SparseRepoData } from '../../src/repodata/sparse.js';
import { ChannelServer } from '../support/channel-server.js';

const HOSTILE = 'h0_0/../../../x/victim';

function rec(name: string, version: string, build: string): Record<string, unknown> {
  return { name, version, build, build_number: 0, depends: [], subdir: 'linux-64', md5: '0'.repeat(32), sha256: '0'.repeat(64), size: 1 };
}

/** Standard repodata: zlib 1.2.11 (safe), 1.3.1 with a hostile build, 1.3.2 with a hostile fn; two hostile names. */
function repodata(): Buffer {
  return Buffer.from(
    JSON.stringify({
      info: { subdir: 'linux-64' },
      packages: {
        'zlib-1.2.11-h7b6447c_3.tar.bz2': rec('zlib', '1.2.11', 'h7b6447c_3'),
        'zlib-1.3.1-h0_0.tar.bz2': rec('zlib', '1.3.1', HOSTILE),
      },
      'packages.conda': {
        '../../../x/victim.conda': rec('zlib', '1.3.2', 'h0_0'),
        'bad-1.0-h0_0.conda': rec('../bad', '1.0', 'h0_0'),
        'ok-1.0-h0_0.conda': rec('ok', '1.0', 'h0_0'),
      },
      repodata_version: 1,
    }),
  );
}

const OPTS = { channel: 'https://example.org/chan', subdir: 'linux-64', baseUrl: 'https://example.org/chan/linux-64/' };

describe('sparse index: unsafe records are dropped when materialised', () => {
  it('drops the same records as the full parser and reports each to onUnsafe', () => {
    const buf = repodata();
    const data = scanRepoData(buf, 'test');
    expect(data).toBeDefined();
    const sparseSeen: string[] = [];
    const fullSeen: string[] = [];
    const sparse = new SparseRepoData(data!, { buffer: buf }, { ...OPTS, onUnsafe: (fn) => sparseSeen.push(fn) });
    const full = new RepoDataIndex(buf, { ...OPTS, onUnsafe: (fn) => fullSeen.push(fn) });
    expect(sparse.records('zlib').map((r) => `${r.version}-${r.build}`)).toEqual(['1.2.11-h7b6447c_3']);
    expect(sparseSeen.sort()).toEqual(['../../../x/victim.conda', 'zlib-1.3.1-h0_0.tar.bz2']);
    expect(JSON.stringify(sparse.records('zlib'))).toBe(JSON.stringify(full.records('zlib')));
    expect(sparse.records('../bad')).toEqual([]);
    expect(JSON.stringify(sparse.all())).toBe(JSON.stringify(full.all()));
    expect(sparse.all().map((r) => r.name)).toEqual(['ok', 'zlib']);
    expect(sparseSeen.sort()).toEqual(fullSeen.sort());
  });
});

describe('gateway over a sparse-indexed channel: one warning per channel subdir, cold and warm', () => {
  let server: ChannelServer;
  let tmp: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'cgl-sparse-unsafe-'));
    const chan = join(tmp, 'chan');
    mkdirSync(join(chan, 'linux-64'), { recursive: true });
    mkdirSync(join(chan, 'noarch'), { recursive: true });
    writeFileSync(join(chan, 'linux-64', 'repodata.json'), repodata());
    writeFileSync(join(chan, 'noarch', 'repodata.json'), JSON.stringify({ info: { subdir: 'noarch' }, packages: {}, 'packages.conda': {} }));
    server = await new ChannelServer().mount('/hostile', chan).start();
  });
  afterAll(async () => {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function lockOnce(cacheDir: string): Promise<{ versions: string[]; warnings: string[] }> {
    let log = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        log += chunk.toString();
        cb();
      },
    });
    const gw = new Gateway({
      cacheDir,
      progress: new ProgressReporter({ stream, tty: false }),
      http: new HttpClient({ retries: 0, timeoutMs: 5_000 }),
    });
    const recs = await gw.query([Channel.parse(server.url('/hostile'))], ['linux-64'], ['zlib', 'ok']);
    return {
      versions: recs.filter((r) => r.name === 'zlib').map((r) => `${r.version}-${r.build}`),
      warnings: log.split('\n').filter((l) => l.includes('unsafe names')),
    };
  }

  it('a hostile build string is dropped with one warning naming the channel and subdir', async () => {
    const cacheDir = join(tmp, 'cache');
    const url = server.url('/hostile/linux-64/repodata.json');
    for (const run of ['cold', 'warm']) {
      server.requests.length = 0;
      const { versions, warnings } = await lockOnce(cacheDir);
      expect(versions, run).toEqual(['1.2.11-h7b6447c_3']);
      expect(warnings, run).toHaveLength(1);
      expect(warnings[0]).toContain(server.url('/hostile'));
      expect(warnings[0]).toContain('linux-64');
      expect(warnings[0]).not.toContain('\n');
      // The records came from the sparse index over the decoded cache entry (the warm run: 304).
      const entry = await new RepodataCache(cacheDir).getIndexed(url);
      expect(entry && 'index' in entry ? entry.index : undefined, run).toBeDefined();
      if (run === 'warm') expect(server.requestsTo('/hostile/linux-64/repodata.json').map((r) => r.status)).toEqual([304]);
    }
  });
});
