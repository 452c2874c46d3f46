/**
 * `install --repair` of a path two packages ship (a clobber): it is put back with the bytes of the
 * package that won it at install (linked later: the dependent over its dependency), whatever the
 * packages' names — not the alphabetically last owner's.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { lockTestEnv, runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
let lockfile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-repair-clobber-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'zz-base', version: '1.0', files: { 'bin/tool': 'from zz-base\n', 'share/zz/readme': 'zz\n' } },
    { name: 'aa-top', version: '1.0', depends: ['zz-base'], files: { 'bin/tool': 'from aa-top\n' } },
  ]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  lockfile = await lockTestEnv(dir, server.url('/chan'), 'clobber', ['aa-top']);
}, 60_000);
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('install --repair of a clobbered path', () => {
  it('puts back the winner\'s file (the dependent, linked last)', async () => {
    const prefix = join(dir, 'env');
    const args = ['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', join(dir, 'pkgs')];
    expect((await runCli([...args, '-q'])).code).toBe(0);
    expect(readFileSync(join(prefix, 'bin', 'tool'), 'utf8')).toBe('from aa-top\n');
    unlinkSync(join(prefix, 'bin', 'tool'));
    const r = await runCli([...args, '--repair']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('restored bin/tool (missing; aa-top-1.0-h0_0)');
    expect(readFileSync(join(prefix, 'bin', 'tool'), 'utf8')).toBe('from aa-top\n');
    expect((await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64'])).code).toBe(0);
  });
});
