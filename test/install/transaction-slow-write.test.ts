/**
 * A holder that is slow between creating the lock file and writing its pid into it (a loaded
 * machine) must not look stale to a second installer: the lock appears with its pid already in it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

vi.mock('node:fs/promises', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...orig,
    // Every FileHandle.writeFile takes 4 s to start (longer than a second installer needs to start).
    open: async (...args: Parameters<typeof orig.open>) => {
      const fh = await orig.open(...args);
      const write = fh.writeFile.bind(fh);
      fh.writeFile = (async (...w: Parameters<typeof fh.writeFile>) => {
        await new Promise((r) => setTimeout(r, 4000));
        return write(...w);
      }) as typeof fh.writeFile;
      return fh;
    },
  };
});

const { acquirePrefixLock } = await import('../../src/install/transaction.js');
const { projectRoot } = await import('../support/fixtures.js');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cgl-tx-slow-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it('another installer process sees the first holder, not an empty (stale-looking) lock', async () => {
  const prefix = join(root, 'env');
  await mkdir(root, { recursive: true });
  const first = acquirePrefixLock(prefix);
  const script =
    `import('${pathToFileURL(join(projectRoot, 'src/install/transaction.ts')).href}')` +
    `.then((m) => m.acquirePrefixLock(${JSON.stringify(prefix)}))` +
    `.then(() => console.log('GOT THE LOCK'), (e) => console.log(e.code))`;
  // Asynchronously: the first acquisition goes on meanwhile.
  const child = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script], { cwd: projectRoot, encoding: 'utf8', timeout: 30_000 });
  const lock = await first;
  expect(child.stdout.trim()).toBe('E_PREFIX_LOCKED');
  await lock.release();
}, 30_000);
