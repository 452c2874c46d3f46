/** `tree` and `why` through the CLI on a lock of the fixture conda-forge channel (no network after locking). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelServer } from '../support/channel-server.js';
import { fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli, startFixtureChannel } from './helpers.js';

describe.skipIf(!haveFixtures)(`tree / why (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let lf: string;

  beforeAll(async () => {
    let releases: string;
    ({ server, releases } = await startFixtureChannel());
    dir = mkdtempSync(join(tmpdir(), 'cgl-tree-'));
    const env = join(dir, 'environment.yml');
    writeFileSync(env, `channels:\n  - ${server.url('/conda-forge')}\nplatforms: [linux-64, win-64]\ndependencies:\n  - python 3.9.*\n  - zlib\n`);
    lf = join(dir, 'conda-go-lock.yml');
    const r = await runCli(['lock', '-f', env, '--lockfile', lf, '--cache-dir', join(dir, 'cache'), '--go-releases-url', releases, '-q']);
    expect(r.code).toBe(0);
    // Everything below reads the lockfile only.
    await server.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tree: requested specs at the top, their dependencies below, repeats marked (*)', async () => {
    const r = await runCli(['tree', '--lockfile', lf, '-p', 'linux-64']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^python 3\.9\.\d+ \S+ \[requested: python 3\.9\.\*\]$/);
    expect(lines.some((l) => /^[├└]── libzlib /.test(l) || /^[│ ]   [├└]── libzlib /.test(l))).toBe(true);
    expect(r.stdout).toMatch(/^zlib \S+ \S+ \[requested: zlib\]$/m);
    expect(r.stdout).toContain('(*)');
    const shallow = await runCli(['tree', '--lockfile', lf, '-p', 'linux-64', '--depth', '1']);
    expect(shallow.stdout.split('\n').every((l) => !l.startsWith('│   ') && !l.startsWith('    '))).toBe(true);
  });

  it('tree -i: what depends on a package, up to the requested specs', async () => {
    const r = await runCli(['tree', '--lockfile', lf, '-p', 'linux-64', '-i', 'libzlib']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^libzlib /);
    expect(r.stdout).toMatch(/zlib \S+ \S+ \[requested: zlib\]/);
    expect(r.stdout).toMatch(/python 3\.9\.\d+ \S+ \[requested: python 3\.9\.\*\]/);
  });

  it('why: the chain from each requested spec; platform-aware', async () => {
    const r = await runCli(['why', 'libzlib', '--lockfile', lf, '-p', 'linux-64']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^libzlib \S+ \S+ \(linux-64\):$/m);
    expect(r.stdout).toContain('  zlib → libzlib');
    expect(r.stdout).toMatch(/ {2}python 3\.9\.\* → (\S+ → )*libzlib/);
    expect((await runCli(['why', 'python', '--lockfile', lf, '-p', 'linux-64'])).stdout).toContain('requested: python 3.9.*');
    // libgcc-ng is a linux package: on win-64 it is not locked, and the error says where it is.
    const w = await runCli(['why', 'libgcc-ng', '--lockfile', lf, '-p', 'win-64']);
    expect(w.code).toBe(2);
    expect(w.stderr).toContain('it is for linux-64');
  });
});
