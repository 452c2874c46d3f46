/**
 * Issue 8 §5: SIGINT / SIGTERM during `install` and `lock` remove what the run was writing (partial
 * downloads, a staging directory, an uncommitted update stage, the prefix lock, a lockfile's temp) and
 * exit 130 / 143; a committed update is finished by the next run. The CLI runs in a child process
 * (src/cli/main.ts runCliProcess, with its signal handlers); the signal is sent at a known point: a
 * download from a server that stalls half-way, or a pause point (CONDA_GO_LOCK_TEST_PAUSE_AT,
 * src/install/test-hooks.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { projectRoot } from '../support/fixtures.js';
import { lockTestEnv, runCli } from './helpers.js';

let server: ChannelServer;
let dir: string;
let lockV1: string;
let lockV2: string;
let lockMany: string;
let seq = 0;

const lockEnv = (name: string, deps: string[]): Promise<string> => lockTestEnv(dir, server.url('/chan'), name, deps);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-signals-'));
  await writeChannel(join(dir, 'chan'), [
    { name: 'zlib', version: '1.2.11', files: { 'lib/libz.so.1.2.11': 'zlib\n' } },
    { name: 'xz', version: '5.2.5', files: { 'bin/xz': '#!/bin/sh\necho xz\n', 'lib/liblzma.so.5': 'lzma\n' } },
    // many files in many directories: linked slowly (CONDA_GO_LOCK_TEST_SLOW=link:<ms>) to be interrupted
    { name: 'many', version: '1.0', files: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`share/many/d${i % 40}/f${i}.txt`, `file ${i}\n`])) },
  ]);
  server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
  lockV1 = await lockEnv('v1', ['zlib']);
  lockV2 = await lockEnv('v2', ['zlib', 'xz']);
  lockMany = await lockEnv('many', ['zlib', 'many']);
}, 60_000);
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const installArgs = (prefix: string, lf: string, cacheDir: string) => ['install', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cacheDir];

/** The CLI as a process, with the entry point's signal handlers; resolves once `ready(stderr)` holds. */
function startCli(args: string[], env: Record<string, string> = {}) {
  const script = `import { runCliProcess } from './src/cli/main.ts'; await runCliProcess(${JSON.stringify(args)});`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: projectRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const closed = new Promise<{ code: number | null; stderr: string }>((r) => child.on('close', (code) => r({ code, stderr })));
  const until = async (ready: () => boolean, what: string) => {
    const deadline = Date.now() + 60_000;
    while (!ready() && Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the CLI exited (${child.exitCode}) before ${what}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!ready()) throw new Error(`timed out waiting for ${what}: ${stderr}`);
  };
  return { child, closed, until, stderr: () => stderr };
}

/** Every file below `root` whose name is one of our temporaries. */
function temps(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of existsSync(d) ? readdirSync(d, { withFileTypes: true }) : []) {
      if (/\.part|\.tmp|\.cgl-/.test(n.name)) out.push(join(d, n.name));
      if (n.isDirectory()) walk(join(d, n.name));
    }
  };
  walk(root);
  return out;
}

/** Names next to the prefix that an install leaves while it runs (lock, staging, old prefix). */
const siblings = (prefix: string) => readdirSync(dirname(prefix)).filter((n) => n.startsWith(`${basename(prefix)}.`));

/** The entries of `rel` inside the prefix's staging directory ([] while there is none). */
function inStaging(prefix: string, ...rel: string[]): string[] {
  const staging = siblings(prefix).find((n) => n.includes('.cgl-staging-'));
  const d = staging && join(dirname(prefix), staging, ...rel);
  return d && existsSync(d) ? readdirSync(d) : [];
}

/** After an interrupted first install: nothing beside the prefix, no prefix, no temp file; then it installs and verifies. */
async function expectNothingLeftThenInstall(prefix: string, lf: string, cacheDir: string): Promise<void> {
  expect(siblings(prefix)).toEqual([]);
  expect(existsSync(prefix)).toBe(false);
  expect(temps(cacheDir)).toEqual([]);
  expect((await runCli([...installArgs(prefix, lf, cacheDir), '-q'])).code).toBe(0);
  expect((await verify(prefix, lf)).code).toBe(0);
}

async function verify(prefix: string, lf: string) {
  return runCli(['verify', '--lockfile', lf, '-p', prefix, '--platform', 'linux-64']);
}

/** A server that sends the first half of every file and then hangs. */
async function stallingServer(): Promise<{ url: string; stalled: () => number; close: () => Promise<void> }> {
  let stalled = 0;
  const stall: Server = createServer((req, res) => {
    const file = join(dir, 'chan', ...new URL(req.url!, 'http://x').pathname.split('/').slice(2));
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const bytes = readFileSync(file);
    res.writeHead(200, { 'content-length': String(bytes.length) });
    res.write(bytes.subarray(0, bytes.length >> 1));
    stalled++;
  });
  await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(stall.address() as AddressInfo).port}`,
    stalled: () => stalled,
    close: async () => {
      stall.closeAllConnections();
      await new Promise((r) => stall.close(r));
    },
  };
}

describe('install interrupted', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s during a download: partial files, staging and the prefix lock removed, exit %i; the next install succeeds and verifies', async (signal, status) => {
    const stall = await stallingServer();
    try {
      const lf = join(dir, `stall-${seq++}.yml`);
      writeFileSync(lf, readFileSync(lockV2, 'utf8').split(server.baseUrl).join(stall.url));
      const prefix = join(dir, `env-dl-${seq++}`);
      const cacheDir = join(dir, `cache-dl-${seq++}`);
      const cli = startCli(installArgs(prefix, lf, cacheDir));
      await cli.until(() => temps(cacheDir).some((p) => p.endsWith('.part')), 'a partial download');
      // the lock, and the staging dir a new linux prefix is linked into while the downloads run
      expect(siblings(prefix).filter((n) => !n.startsWith(`${basename(prefix)}.cgl-staging-`))).toEqual([`${basename(prefix)}.cgl-lock`]);
      expect(siblings(prefix).some((n) => n.startsWith(`${basename(prefix)}.cgl-staging-`))).toBe(true);
      cli.child.kill(signal);
      const { code, stderr } = await cli.closed;
      expect(code).toBe(status);
      expect(stderr).toContain(`(${signal}): removing partial files and the prefix lock`);
      expect(stderr).not.toMatch(/internal error|at .*\.ts:\d+/);
      expect(temps(cacheDir)).toEqual([]);
      expect(siblings(prefix)).toEqual([]);
      expect(existsSync(prefix)).toBe(false);
      // The same cache, the real server: installs and verifies.
      const again = await runCli([...installArgs(prefix, lockV2, cacheDir), '-q']);
      expect(again.stderr).toBe('');
      expect(again.code).toBe(0);
      expect((await verify(prefix, lockV2)).code).toBe(0);
    } finally {
      await stall.close();
    }
  });

  it('SIGINT while a new prefix is staged (before it is renamed into place): no prefix, no staging directory, no lock', async () => {
    const prefix = join(dir, `env-staged-${seq++}`);
    const cacheDir = join(dir, `cache-staged-${seq++}`);
    const cli = startCli(installArgs(prefix, lockV1, cacheDir), { CONDA_GO_LOCK_TEST_PAUSE_AT: 'staged' });
    await cli.until(() => cli.stderr().includes('paused at staged'), 'the staged point');
    expect(siblings(prefix).some((n) => n.includes('.cgl-staging-'))).toBe(true);
    cli.child.kill('SIGINT');
    expect((await cli.closed).code).toBe(130);
    await expectNothingLeftThenInstall(prefix, lockV1, cacheDir);
  });

  it('SIGINT while files are being linked into the staging directory: the linking stops, then the staging directory goes; nothing reappears', async () => {
    const prefix = join(dir, `env-linking-${seq++}`);
    const cacheDir = join(dir, `cache-linking-${seq++}`);
    const cli = startCli(installArgs(prefix, lockMany, cacheDir), { CONDA_GO_LOCK_TEST_SLOW: 'link:5' });
    await cli.until(() => inStaging(prefix, 'share', 'many').length >= 5, 'files linked into the staging directory');
    cli.child.kill('SIGINT');
    expect((await cli.closed).code).toBe(130);
    expect(siblings(prefix)).toEqual([]);
    // the linker wrote nothing after the tree was removed (its next mkdir would have made it again)
    await new Promise((r) => setTimeout(r, 300));
    await expectNothingLeftThenInstall(prefix, lockMany, cacheDir);
  });

  it('SIGINT after the staging directory is linked, while its metadata is written: it is removed once that is done, and nothing is moved into place', async () => {
    const prefix = join(dir, `env-meta-${seq++}`);
    const cacheDir = join(dir, `cache-meta-${seq++}`);
    // after the linking, a 1.5 s pause before the history and state files are written
    const cli = startCli(installArgs(prefix, lockV1, cacheDir), { CONDA_GO_LOCK_TEST_SLOW: 'stage-meta:1500' });
    await cli.until(() => inStaging(prefix, 'conda-meta').some((n) => n.startsWith('zlib-')), 'the staging directory linked');
    cli.child.kill('SIGINT');
    expect((await cli.closed).code).toBe(130);
    // the metadata written after the signal did not make the staging directory again, nor a prefix
    await expectNothingLeftThenInstall(prefix, lockV1, cacheDir);
  });

  it('SIGTERM during an update before its commit: the stage is removed and the environment is as it was; the update then succeeds', async () => {
    const prefix = join(dir, `env-prepared-${seq++}`);
    const cacheDir = join(dir, `cache-prepared-${seq++}`);
    expect((await runCli([...installArgs(prefix, lockV1, cacheDir), '-q'])).code).toBe(0);
    const cli = startCli(installArgs(prefix, lockV2, cacheDir), { CONDA_GO_LOCK_TEST_PAUSE_AT: 'prepared' });
    await cli.until(() => cli.stderr().includes('paused at prepared'), 'the prepared point');
    expect(existsSync(join(prefix, 'conda-meta', '.cgl-transaction'))).toBe(true);
    cli.child.kill('SIGTERM');
    expect((await cli.closed).code).toBe(143);
    expect(readdirSync(join(prefix, 'conda-meta')).filter((n) => n.startsWith('.cgl'))).toEqual([]);
    expect(siblings(prefix)).toEqual([]);
    expect(existsSync(join(prefix, 'bin', 'xz'))).toBe(false);
    expect((await verify(prefix, lockV1)).code).toBe(0);
    const again = await runCli([...installArgs(prefix, lockV2, cacheDir), '-q']);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect((await verify(prefix, lockV2)).code).toBe(0);
  });

  it('SIGINT after an update is committed: the journal stays, the lock goes, and the next run finishes the update', async () => {
    const prefix = join(dir, `env-committed-${seq++}`);
    const cacheDir = join(dir, `cache-committed-${seq++}`);
    expect((await runCli([...installArgs(prefix, lockV1, cacheDir), '-q'])).code).toBe(0);
    const cli = startCli(installArgs(prefix, lockV2, cacheDir), { CONDA_GO_LOCK_TEST_PAUSE_AT: 'committed' });
    await cli.until(() => cli.stderr().includes('paused at committed'), 'the committed point');
    cli.child.kill('SIGINT');
    expect((await cli.closed).code).toBe(130);
    expect(siblings(prefix)).toEqual([]);
    expect(existsSync(join(prefix, 'conda-meta', '.cgl-transaction.json'))).toBe(true);
    expect(existsSync(join(prefix, 'conda-meta', '.cgl-transaction', 'stage'))).toBe(true);
    const again = await runCli([...installArgs(prefix, lockV2, cacheDir)]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('finished the interrupted update');
    expect(readdirSync(join(prefix, 'conda-meta')).filter((n) => n.startsWith('.cgl'))).toEqual([]);
    expect(readFileSync(join(prefix, 'bin', 'xz'), 'utf8')).toContain('echo xz');
    expect((await verify(prefix, lockV2)).code).toBe(0);
  });
});

describe('lock interrupted', () => {
  it('SIGINT while the repodata downloads: exit 130, the existing lockfile unchanged, no temp file beside it', async () => {
    const stall = await stallingServer();
    try {
      const out = join(dir, `lockdir-${seq++}`, 'conda-go-lock.yml');
      mkdirSync(dirname(out));
      const env = join(dir, `stall-env-${seq++}.yml`);
      writeFileSync(env, `channels:\n  - ${stall.url}/chan\ndependencies:\n  - zlib\n`);
      // An existing lockfile (from the good server) that must survive.
      expect((await runCli(['lock', '-f', join(dir, 'v1.environment.yml'), '--lockfile', out, '-p', 'linux-64', '--cache-dir', join(dir, `rc-${seq++}`), '-q'])).code).toBe(0);
      const before = readFileSync(out, 'utf8');
      const cacheDir = join(dir, `rc-stall-${seq++}`);
      const cli = startCli(['lock', '-f', env, '--lockfile', out, '-p', 'linux-64', '--cache-dir', cacheDir, '--force']);
      await cli.until(() => stall.stalled() > 0, 'the repodata download');
      cli.child.kill('SIGINT');
      const { code, stderr } = await cli.closed;
      expect(code).toBe(130);
      expect(stderr).not.toMatch(/internal error/);
      expect(readFileSync(out, 'utf8')).toBe(before);
      expect(readdirSync(dirname(out))).toEqual(['conda-go-lock.yml']);
      expect(temps(cacheDir)).toEqual([]);
    } finally {
      await stall.close();
    }
  });
});
