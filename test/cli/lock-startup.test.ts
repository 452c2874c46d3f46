/**
 * Start-up of `lock`: a conda-only lock (no pip:, no pyproject.toml, no progress bars) does not load
 * the libraries only other inputs need — cli-progress (bars on a TTY), smol-toml (pyproject.toml),
 * yauzl (PyPI wheels), msgpackr (shards are read by src/repodata/msgpack.ts). Each costs 10–50 ms of
 * a warm lock that takes well under a second. Run in a fresh process: the test runner loads its own.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { projectRoot } from '../support/fixtures.js';
import { haveZstdCli, writeShardedSubdir } from '../support/shards.js';

let server: ChannelServer;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgl-startup-'));
  const channel = join(dir, 'channel');
  if (haveZstdCli) {
    await writeShardedSubdir(channel, {
      subdir: 'linux-64',
      records: [
        { name: 'app', version: '1.0', build: 'h0_0', depends: ['libx >=2'] },
        { name: 'libx', version: '2.1', build: 'h0_0' },
      ],
    });
  }
  server = await new ChannelServer().mount('/sharded', channel).start();
});

afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Run `lock` in a child process; returns its exit code and the packages it loaded through require (CommonJS). */
async function lockInChild(args: string[]): Promise<{ code: number; packages: string[]; stderr: string }> {
  const script = `
    import { createRequire } from 'node:module';
    import { main } from './src/cli/main.ts';
    const code = await main(${JSON.stringify(args)});
    const files = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/node_modules/'));
    const names = new Set(files.map((f) => f.split('/node_modules/').pop().split('/').slice(0, f.split('/node_modules/').pop().startsWith('@') ? 2 : 1).join('/')));
    process.stdout.write(JSON.stringify({ code, packages: [...names].sort() }) + '\\n');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  const last = stdout.trim().split('\n').pop() ?? '{}';
  return { ...(JSON.parse(last) as { code: number; packages: string[] }), stderr };
}

describe.skipIf(!haveZstdCli)('lock start-up', () => {
  it('a conda-only lock of a sharded channel loads neither cli-progress, smol-toml, yauzl nor msgpackr', async () => {
    const env = join(dir, 'environment.yml');
    await writeFile(env, `channels:\n  - ${server.url('/sharded')}\ndependencies:\n  - app\n`);
    const lockfile = join(dir, 'lock.yml');
    const run = await lockInChild(['lock', '-f', env, '-p', 'linux-64', '--lockfile', lockfile, '--cache-dir', join(dir, 'cache'), '-q']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await readFile(lockfile, 'utf8')).toContain('name: libx');
    // yaml (environment.yml) and commander are needed; these are not
    for (const pkg of ['cli-progress', 'smol-toml', 'yauzl', 'msgpackr', 'msgpackr-extract', 'node-gyp-build-optional-packages']) {
      expect(run.packages, pkg).not.toContain(pkg);
    }
    expect(run.packages).toContain('yaml');
  }, 60_000);

  it('a pyproject.toml input still gets its TOML parser (loaded when first needed)', async () => {
    const pyproject = join(dir, 'pyproject.toml');
    await writeFile(
      pyproject,
      `[project]\nname = "demo"\nversion = "0.1"\n\n[tool.conda-lock]\nchannels = ["${server.url('/sharded')}"]\nplatforms = ["linux-64"]\n\n[tool.conda-lock.dependencies]\napp = "*"\n`,
    );
    const lockfile = join(dir, 'pyproject-lock.yml');
    const run = await lockInChild(['lock', '-f', pyproject, '--lockfile', lockfile, '--cache-dir', join(dir, 'cache'), '-q']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await readFile(lockfile, 'utf8')).toContain('name: app');
    expect(run.packages).toContain('smol-toml');
  }, 60_000);
});

describe('reading our own lockfile', () => {
  it('does not load yaml (the fast reader takes it); a file with a mistake still gets its line, yaml loaded then', async () => {
    const lockfile = join(projectRoot, 'lockfiles', 'python-go', 'conda-go-lock.yml');
    const run = await lockInChild(['tree', '--lockfile', lockfile, '-p', 'linux-64', '--depth', '1']);
    expect(run.code).toBe(0);
    expect(run.packages).not.toContain('yaml');
    const broken = join(dir, 'broken-lock.yml');
    await writeFile(broken, (await readFile(lockfile, 'utf8')).replace(/^(\s+sha256: )[0-9a-f]{64}$/m, '$1nothex'));
    const bad = await lockInChild(['tree', '--lockfile', broken, '-p', 'linux-64']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/broken-lock\.yml:\d+/);
    expect(bad.packages).toContain('yaml');
  }, 60_000);
});
