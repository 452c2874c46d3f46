/**
 * A bug that throws outside any command's promise (an exception in an event handler, an unhandled
 * rejection) ends the process with exit 70 after cleanup — not Node's exit 1, which the docs give to
 * `check`/`verify` findings — and leaves no prefix lock, staging directory or partial download.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { runCli } from './helpers.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Run the CLI entry point in a child; `inject` is JavaScript evaluated first (schedules the fault). */
function runChild(argv: string[], inject: string): Promise<{ code: number | null; stderr: string }> {
  const script = `
    import { runCliProcess } from './src/cli/main.ts';
    ${inject}
    await runCliProcess(${JSON.stringify(argv)});
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** Every path under `dir` (relative), for "nothing left behind" checks. */
function walk(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? [r, ...walk(join(dir, e.name), r)] : [r];
  });
}

describe.skipIf(!haveFixtures)(`crash handling (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let lockfile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-crash-'));
    server = await new ChannelServer()
      .mount('/defaults', fixture('repodata', 'conda-format-repo'))
      .mount('/defaults', fixture('packages', 'defaults-zlib'))
      .start();
    writeFileSync(join(dir, 'environment.yml'), `channels:\n  - ${server.url('/defaults')}\ndependencies:\n  - zlib 1.2.11\n`);
    lockfile = join(dir, 'conda-go-lock.yml');
    const r = await runCli(['lock', '-f', join(dir, 'environment.yml'), '--lockfile', lockfile, '-p', 'linux-64', '--cache-dir', join(dir, 'cache'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** JavaScript that waits until the install holds the prefix lock and a download is running, then runs `fault`. */
  const whenInstalling = (prefix: string, cache: string, fault: string) => `
    import { existsSync as _e, readdirSync as _r } from 'node:fs';
    const _walk = (d) => { try { return _r(d, { recursive: true }).map(String); } catch { return []; } };
    const _iv = setInterval(() => {
      if (_e(${JSON.stringify(`${prefix}.cgl-lock`)}) && _walk(${JSON.stringify(cache)}).some((p) => p.includes('.part'))) {
        clearInterval(_iv);
        ${fault}
      }
    }, 20);`;

  it.each([
    ['an uncaught exception', "setTimeout(() => { throw new Error('injected bug in a callback'); }, 0);"],
    ['an unhandled rejection', "Promise.reject(new Error('injected bug in a callback'));"],
  ])('%s during an install: exit 70, internal error on stderr, no lock, staging or .part left', async (_name, fault) => {
    // The package arrives slowly, so the fault hits while the install holds the lock and downloads.
    server.clearFaults();
    server.fault({ path: /\/zlib-.*\.(conda|tar\.bz2)$/, fault: { kind: 'trickle', bytes: 4096, intervalMs: 40 } });
    const prefix = join(dir, `env-${_name.replace(/\W+/g, '-')}`);
    const cache = join(dir, `pkgs-${_name.replace(/\W+/g, '-')}`);
    const r = await runChild(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache, '-q'], whenInstalling(prefix, cache, fault));
    server.clearFaults();
    expect(r.stderr).toContain('internal error');
    expect(r.stderr).toContain('injected bug in a callback');
    expect(r.code).toBe(70);
    expect(readdirSync(dir).filter((n) => n.includes('.cgl-'))).toEqual([]);
    expect(walk(cache).filter((p) => /\.part/.test(p))).toEqual([]);
  }, 30_000);
});
