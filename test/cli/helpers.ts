/** Run the CLI in-process and capture what it prints. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, projectRoot } from '../support/fixtures.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  const oldCwd = process.cwd();
  const oldEnv: Record<string, string | undefined> = {};
  try {
    for (const [k, v] of Object.entries(opts.env ?? {})) {
      oldEnv[k] = process.env[k];
      process.env[k] = v;
    }
    if (opts.cwd) process.chdir(opts.cwd);
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    if (opts.cwd) process.chdir(oldCwd);
    for (const [k, v] of Object.entries(oldEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    out.mockRestore();
    err.mockRestore();
  }
}

/**
 * A local server with the real May-2024 conda-forge subchannel at /conda-forge (and at each extra
 * prefix given) and the go.dev/dl snapshots under /godl; `releases` is the include=all snapshot's URL.
 */
export async function startFixtureChannel(extraChannelPrefixes: string[] = []): Promise<{ server: ChannelServer; releases: string }> {
  const channel = fixture('repodata', 'conda-forge-subchannel-py39-2024-05');
  const server = new ChannelServer().mount('/conda-forge', channel).mount('/godl', fixture('go'));
  for (const prefix of extraChannelPrefixes) server.mount(prefix, channel);
  await server.start();
  return { server, releases: server.url('/godl/go-dl-include-all-2021-11-08.json') };
}

/**
 * `lock` an environment.yml of `deps` (quoted) from one channel for linux-64 into `<dir>/<name>.yml`,
 * repodata cached in `<dir>/repocache`, expecting it to succeed silently; returns the lockfile path.
 * `extraYaml` is appended to the file (e.g. a `go:` line), `extraArgs` to the lock command.
 */
export async function lockTestEnv(
  dir: string,
  channelUrl: string,
  name: string,
  deps: readonly string[],
  opts: { extraYaml?: string; extraArgs?: string[] } = {},
): Promise<string> {
  const env = join(dir, `${name}.environment.yml`);
  writeFileSync(env, `channels:\n  - ${channelUrl}\ndependencies:\n${deps.map((d) => `  - "${d}"\n`).join('')}${opts.extraYaml ?? ''}`);
  const out = join(dir, `${name}.yml`);
  const r = await runCli(['lock', '-f', env, '--lockfile', out, '-p', 'linux-64', '--cache-dir', join(dir, 'repocache'), ...(opts.extraArgs ?? []), '-q']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return out;
}

/**
 * Run the CLI in a child process that SIGKILLs itself at `point` of an install
 * (CONDA_GO_LOCK_TEST_KILL_AT, src/install/test-hooks.ts).
 */
export function runCliKilledAt(args: string[], point: string): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  const script = `import { main } from './src/cli/main.ts'; main(${JSON.stringify(args)}).then((c) => process.exit(c));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: projectRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, CONDA_GO_LOCK_TEST_KILL_AT: point },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}
