/**
 * Records whose repodata has no sha256 (old channels: 13 of the 338 noarch records of anaconda
 * defaults in 2020) are locked anyway: `lock` downloads such a package once, checks its md5 and size
 * against repodata and computes the sha256 (`sha256_computed: true`), so `install` checks sha256.
 * Tested on the real defaults-2020 archives, served by our node server and by `python3 -m http.server`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLockfile } from '../../src/lockfile/read.js';
import { ChannelServer } from '../support/channel-server.js';
import { buildDefaultsChannel, DEFAULTS_2020, haveDefaults2020, type ChannelRecord, type DefaultsChannel } from '../support/defaults-2020-channel.js';
import { fixturesSkipReason } from '../support/fixtures.js';
import { havePython3, startPythonHttpServer, type PythonHttpServer } from '../support/python-server.js';
import { runCli } from './helpers.js';

describe.skipIf(!haveDefaults2020)(`lock: records without sha256 (${haveDefaults2020 ? 'real defaults-2020 archives' : fixturesSkipReason})`, () => {
  let channel: DefaultsChannel;
  let node: ChannelServer;
  let py: PythonHttpServer | undefined;
  let dir: string;
  let site: string;
  const tzdataFn = 'tzdata-2020d-h14c3975_0.conda';

  /** `site/<name>/{linux-64,noarch}`: the real archives, with repodata whose noarch records are changed by `edit`. */
  function variant(name: string, edit: (r: ChannelRecord) => ChannelRecord): void {
    for (const subdir of ['linux-64', 'noarch']) {
      const d = join(site, name, subdir);
      mkdirSync(d, { recursive: true });
      const packagesConda: Record<string, unknown> = {};
      for (const [fn, r] of channel.records) {
        if (r.subdir !== subdir || !existsSync(join(DEFAULTS_2020, fn))) continue;
        packagesConda[fn] = subdir === 'noarch' ? edit({ ...r }) : r;
        symlinkSync(join(DEFAULTS_2020, fn), join(d, fn));
      }
      writeFileSync(join(d, 'repodata.json'), JSON.stringify({ info: { subdir }, packages: {}, 'packages.conda': packagesConda, repodata_version: 1 }));
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-computed-sha-'));
    site = join(dir, 'site');
    channel = await buildDefaultsChannel();
    variant('nosha', ({ sha256: _drop, ...r }) => r as ChannelRecord);
    variant('badmd5', ({ sha256: _drop, ...r }) => ({ ...r, md5: '0'.repeat(32) }) as ChannelRecord);
    variant('nomd5', ({ sha256: _drop, md5: _md5, ...r }) => r as ChannelRecord);
    node = await new ChannelServer().mount('/', site).start();
    if (havePython3) py = await startPythonHttpServer(site);
  }, 120_000);
  afterAll(async () => {
    await node?.stop();
    await py?.stop();
    await channel?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const realSha = () => String(channel.records.get(tzdataFn)!.sha256);

  async function lock(label: string, channelUrl: string, extra: string[] = [], cache = join(dir, `${label}-cache`)) {
    const env = join(dir, `${label}.yml`);
    writeFileSync(env, `channels:\n  - ${channelUrl}\ndependencies:\n  - tzdata\n  - ca-certificates\n`);
    const lockfile = join(dir, `${label}.lock.yml`);
    const r = await runCli(['lock', '-f', env, '--lockfile', lockfile, '-p', 'linux-64', '--cache-dir', cache, ...extra]);
    return { ...r, lockfile, cache };
  }

  it('downloads the package once, checks md5 and size, records the computed sha256; install checks it', async () => {
    const before = node.requestsTo(`/nosha/noarch/${tzdataFn}`).length;
    const l = await lock('node', node.url('/nosha'));
    expect(l.stderr).toContain('tzdata-2020d-h14c3975_0: no sha256 in its repodata; downloading it to check md5 and size and compute one');
    expect(l.code).toBe(0);
    expect(node.requestsTo(`/nosha/noarch/${tzdataFn}`).length - before).toBe(1);
    const lf = await readLockfile(l.lockfile);
    const tz = lf.packages.find((p) => p.name === 'tzdata')!;
    expect(tz.sha256).toBe(realSha());
    expect(tz.sha256_computed).toBe(true);
    // A package whose channel published its sha256 is not marked.
    expect(lf.packages.find((p) => p.name === 'ca-certificates')!.sha256_computed).toBeUndefined();
    expect(readFileSync(l.lockfile, 'utf8')).toMatch(/sha256_computed: true/);

    // A re-lock with a fresh cache takes the value from the lockfile: no second download, the mark stays.
    const again = await lock('node', node.url('/nosha'), ['--force'], join(dir, 'node-cache-2'));
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('no sha256 in its repodata');
    expect(node.requestsTo(`/nosha/noarch/${tzdataFn}`).length - before).toBe(1);
    expect((await readLockfile(again.lockfile)).packages.find((p) => p.name === 'tzdata')!.sha256_computed).toBe(true);

    const prefix = join(dir, 'node-env');
    const i = await runCli(['install', '--lockfile', l.lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'node-pkgs'), '-q']);
    expect(i.stderr).toBe('');
    expect(i.code).toBe(0);
    const v = await runCli(['verify', '--lockfile', l.lockfile, '-p', prefix, '--platform', 'linux-64']);
    expect(v.stdout).toContain('matches');
    const meta = readdirSync(join(prefix, 'conda-meta')).find((f) => f.startsWith('tzdata-'))!;
    expect(JSON.parse(readFileSync(join(prefix, 'conda-meta', meta), 'utf8')).sha256).toBe(realSha());
  }, 120_000);

  it.skipIf(!havePython3)('works against python3 -m http.server (HTTP/1.0, closes every connection)', async () => {
    const l = await lock('py', `${py!.baseUrl}/nosha`);
    expect(l.code).toBe(0);
    expect((await readLockfile(l.lockfile)).packages.find((p) => p.name === 'tzdata')!.sha256).toBe(realSha());
    // The cache remembers it by md5 and size: a second lock downloads nothing.
    const again = await lock('py', `${py!.baseUrl}/nosha`, ['--force'], l.cache);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('no sha256 in its repodata');
  }, 120_000);

  it('a download that does not match repodata md5 fails (exit 6) naming the package, and writes no lockfile', async () => {
    const l = await lock('bad', node.url('/badmd5'));
    expect(l.code).toBe(6);
    expect(l.stderr).toContain('tzdata-2020d-h14c3975_0 has no sha256 in its repodata, and the download made to compute one does not match the md5 and size repodata gives: md5 mismatch');
    expect(existsSync(l.lockfile)).toBe(false);
    expect(readdirSync(join(l.cache, 'computed-sha256')).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 60_000);

  it('a record without md5 cannot be checked and is still refused (exit 7)', async () => {
    const l = await lock('nomd5', node.url('/nomd5'));
    expect(l.code).toBe(7);
    expect(l.stderr).toContain('E_RECORD_WITHOUT_HASH');
    expect(l.stderr).toContain('has no sha256, md5 in its repodata');
  }, 60_000);

  it('--offline cannot download: says to run once without it', async () => {
    const first = await lock('off', node.url('/nosha'), [], join(dir, 'off-cache'));
    expect(first.code).toBe(0);
    rmSync(join(dir, 'off-cache', 'computed-sha256'), { recursive: true, force: true });
    rmSync(first.lockfile);
    const l = await lock('off', node.url('/nosha'), ['--offline'], join(dir, 'off-cache'));
    expect(l.code).toBe(7);
    expect(l.stderr).toContain('tzdata-2020d-h14c3975_0');
    expect(l.stderr).toContain('has no sha256 in its repodata and --offline cannot download it to compute one; run once without --offline');
  }, 60_000);
});
