/**
 * Private channels round trip: a channel written `http://host/t/${TOKEN}/chan` in environment.yml is
 * locked with the token from the environment, recorded with its variable name only, and installed
 * with the token put back from the environment. The server serves the real defaults zlib package
 * only under /t/<token>/ and answers 401 without it, so a passing install proves the credentials
 * were re-inserted.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli } from './helpers.js';

const VAR = 'CGL_TEST_PRIVATE_TOKEN';
const TOKEN = 'tk-s3cret-4f9a1c';
const ROTATED = 'tk-rotated-77e2b0';

/** Every byte of every file under `dir`, for "the secret is nowhere" checks. */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) parts.push(Buffer.from(p), readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(parts);
}

describe.skipIf(!haveFixtures)(`private channel with \${TOKEN} (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let envFile: string;
  let lockfile: string;
  let lockText: string;

  const withToken = async <T>(value: string | undefined, f: () => Promise<T>): Promise<T> => {
    const old = process.env[VAR];
    if (value === undefined) delete process.env[VAR];
    else process.env[VAR] = value;
    try {
      return await f();
    } finally {
      if (old === undefined) delete process.env[VAR];
      else process.env[VAR] = old;
    }
  };
  const lock = (file: string, cache = 'cache', ...more: string[]) =>
    runCli(['lock', '-f', envFile, '--lockfile', file, '-p', 'osx-64', '--cache-dir', join(dir, cache), '-q', ...more]);
  const install = (prefix: string, lf = lockfile) =>
    runCli(['install', '--lockfile', lf, '-p', prefix, '--platform', 'osx-64', '--cache-dir', join(dir, `pkgs-${prefix.split('/').pop()}`), '-q', '--no-go']);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-private-'));
    server = new ChannelServer();
    for (const t of [TOKEN, ROTATED]) {
      server.mount(`/t/${t}/defaults`, fixture('repodata', 'conda-format-repo')).mount(`/t/${t}/defaults`, fixture('packages', 'defaults-zlib'));
    }
    // The channel without a token, or with a wrong one, is refused.
    server.fault({ path: /^\/defaults(\/|$)/, fault: { kind: 'status', status: 401 } });
    server.fault({ path: /^\/t\/wrong-token\//, fault: { kind: 'status', status: 403 } });
    await server.start();
    envFile = join(dir, 'environment.yml');
    writeFileSync(envFile, `channels:\n  - ${server.baseUrl}/t/\${${VAR}}/defaults\ndependencies:\n  - zlib 1.2.11\n`);
    lockfile = join(dir, 'conda-go-lock.yml');
    const r = await withToken(TOKEN, () => lock(lockfile));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    lockText = readFileSync(lockfile, 'utf8');
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    delete process.env[VAR];
  });

  it('locks with the token from the environment and writes only the variable name', () => {
    // repodata was fetched through the token URL
    expect(server.requestsTo(new RegExp(`^/t/${TOKEN}/defaults/osx-64/`)).some((q) => q.status === 200)).toBe(true);
    expect(lockText).not.toContain(TOKEN);
    // nor anywhere in the repodata cache
    expect(allBytes(join(dir, 'cache')).includes(TOKEN)).toBe(false);
    const lf = parseYaml(lockText);
    expect(lf.metadata.channels).toEqual([
      { url: `${server.baseUrl}/defaults`, used_env_vars: [VAR], url_template: `${server.baseUrl}/t/\${${VAR}}/defaults` },
    ]);
    expect(lf.packages.map((p: { url: string }) => p.url)).toEqual([expect.stringMatching(new RegExp(`^${server.baseUrl}/defaults/osx-64/zlib-1\\.2\\.11-`))]);
  });

  it('lock with the variable unset fails naming it, the file and the line, and writes nothing', async () => {
    const other = join(dir, 'unset.yml');
    const r = await withToken(undefined, () => lock(other));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(VAR);
    expect(r.stderr).toContain(`${envFile}:2:`);
    expect(r.stderr).toContain('E_CHANNEL_ENV_UNSET');
    expect(existsSync(other)).toBe(false);
  });

  it('install puts the token back from the environment, and verify accepts the prefix', async () => {
    const prefix = join(dir, 'env-ok');
    const before = server.requests.length;
    const r = await withToken(TOKEN, () => install(prefix));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const pkgRequests = server.requests.slice(before).filter((q) => /zlib-1\.2\.11-/.test(q.path));
    expect(pkgRequests.map((q) => [q.path.startsWith(`/t/${TOKEN}/defaults/osx-64/`), q.status])).toEqual([[true, 200]]);
    expect(existsSync(join(prefix, 'conda-meta', 'zlib-1.2.11-h1de35cc_3.json'))).toBe(true);
    // conda-meta keeps the token-free URL
    expect(allBytes(join(prefix, 'conda-meta')).includes(TOKEN)).toBe(false);
    const v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64']);
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);
  });

  it('install with the variable unset fails naming it and the channel, before any download, nothing written', async () => {
    const prefix = join(dir, 'env-unset');
    const before = server.requests.length;
    const r = await withToken(undefined, () => install(prefix));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(VAR);
    expect(r.stderr).toContain(`${server.baseUrl}/defaults`);
    expect(server.requests.length).toBe(before);
    expect(existsSync(prefix)).toBe(false);
    expect(existsSync(join(dir, 'pkgs-env-unset'))).toBe(false);
  });

  it('the server refuses token-less downloads: a lockfile without the template gets 401 and a hint', async () => {
    const lf = parseYaml(lockText);
    lf.metadata.channels = lf.metadata.channels.map((c: { url: string }) => ({ url: c.url }));
    const bare = join(dir, 'bare.yml');
    writeFileSync(bare, stringify(lf));
    const prefix = join(dir, 'env-bare');
    const r = await withToken(TOKEN, () => install(prefix, bare));
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('HTTP 401');
    expect(r.stderr).toContain('${MY_TOKEN}');
    expect(r.stderr).toContain('re-lock');
    expect(existsSync(prefix)).toBe(false);
  });

  it('a wrong token value is reported with the variable to check, and never shown', async () => {
    const r = await withToken('wrong-token', () => install(join(dir, 'env-wrong')));
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('HTTP 403');
    expect(r.stderr).toContain(VAR);
    expect(r.stderr).not.toContain('wrong-token');
  });

  it('a rotated token: check stays up to date (with the new value or none) and re-locking gives the same bytes', async () => {
    for (const value of [ROTATED, undefined]) {
      const c = await withToken(value, () => runCli(['check', '-f', envFile, '--lockfile', lockfile, '-p', 'osx-64']));
      expect(c.stderr).toContain('is up to date');
      expect(c.code).toBe(0);
    }
    const copy = join(dir, 'relock.yml');
    cpSync(lockfile, copy);
    const r = await withToken(ROTATED, () => lock(copy, 'cache-rotated', '--force'));
    expect(r.code).toBe(0);
    expect(server.requestsTo(new RegExp(`^/t/${ROTATED}/defaults/osx-64/`)).some((q) => q.status === 200)).toBe(true);
    expect(readFileSync(copy, 'utf8')).toBe(lockText);
  });

  it('renaming the variable makes the lock stale', async () => {
    const renamed = join(dir, 'renamed.yml');
    writeFileSync(renamed, readFileSync(envFile, 'utf8').replace(VAR, 'OTHER_TOKEN_NAME'));
    const c = await runCli(['check', '-f', renamed, '--lockfile', lockfile, '-p', 'osx-64']);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('OTHER_TOKEN_NAME');
  });

  it('render --kind conda-lock carries used_env_vars', async () => {
    const r = await runCli(['render', '--kind', 'conda-lock', '--lockfile', lockfile, '-o', '-']);
    expect(r.code).toBe(0);
    const doc = parseYaml(r.stdout);
    expect(doc.metadata.channels).toEqual([{ url: `${server.baseUrl}/t/\${${VAR}}/defaults`, used_env_vars: [VAR] }]);
  });
});
