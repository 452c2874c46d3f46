/**
 * `conda-go-lock ... | head`: when the reader closes the pipe early, the CLI stops quietly with its
 * exit status instead of dying on an unhandled EPIPE with a Node stack trace.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

it('help piped into a reader that has already gone: exit 0, no EPIPE stack trace', async () => {
  // The child writes only after the parent has closed its end of the pipe, so the write must fail.
  const script = `
    import { main } from './src/cli/main.ts';
    await new Promise((r) => setTimeout(r, 500));
    process.exitCode = await main(['lock', '--help']);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  expect(stderr).not.toContain('EPIPE');
  expect(stderr).not.toContain('Unhandled');
  expect(code).toBe(0);
}, 30_000);
