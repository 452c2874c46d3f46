import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pendingExitCleanups, runExitCleanups } from '../../src/cleanup.js';
import { withAtomicFile, writeFileAtomic } from '../../src/fs/atomic.js';

const made: string[] = [];
const dir = async () => {
  const d = await mkdtemp(join(tmpdir(), 'cgl-atomic-'));
  made.push(d);
  return d;
};
afterAll(async () => {
  for (const d of made) await rm(d, { recursive: true, force: true });
});

describe('atomic file replacement', () => {
  it('replaces a file and leaves nothing else in the directory', async () => {
    const d = await dir();
    const f = join(d, 'out.txt');
    await writeFile(f, 'old');
    await writeFileAtomic(f, 'new');
    expect(await readFile(f, 'utf8')).toBe('new');
    expect(await readdir(d)).toEqual(['out.txt']);
  });

  it('sets an explicit mode regardless of the umask', async () => {
    if (process.platform === 'win32') return;
    const d = await dir();
    const f = join(d, 'out.txt');
    await writeFileAtomic(f, 'x', { mode: 0o600 });
    expect((await stat(f)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(f, 'y', { mode: 0o664 });
    expect((await stat(f)).mode & 0o777).toBe(0o664);
  });

  it('a failing writer leaves the old file and no temp file, and rethrows', async () => {
    const d = await dir();
    const f = join(d, 'out.bin');
    await writeFile(f, 'old');
    const boom = new Error('hash mismatch');
    const err = await withAtomicFile(f, async (tmp) => {
      await writeFile(tmp, 'partial');
      throw boom;
    }).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(await readFile(f, 'utf8')).toBe('old');
    expect(await readdir(d)).toEqual(['out.bin']);
  });

  it('uses the given temp name, registers it for crash cleanup while writing, and returns what the writer returns', async () => {
    const d = await dir();
    const f = join(d, 'pkg.conda');
    const before = pendingExitCleanups();
    let during = -1;
    const got = await withAtomicFile(
      f,
      async (tmp) => {
        expect(tmp).toBe(`${f}.part-1`);
        during = pendingExitCleanups();
        await writeFile(tmp, 'bytes');
        return 42;
      },
      { tempPath: `${f}.part-1`, durable: false },
    );
    expect(got).toBe(42);
    expect(during).toBe(before + 1);
    expect(pendingExitCleanups()).toBe(before);
    expect(await readdir(d)).toEqual(['pkg.conda']);
  });

  // Last in the file: it starts the exit cleanups, which stay started.
  it('an exit that starts while the writer is still creating its temp waits for it (up to 2 s), then removes the temp', async () => {
    const d = await dir();
    const f = join(d, 'late.bin');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let unstall!: () => void;
    const stalled = new Promise<void>((r) => (unstall = r));
    const writing = withAtomicFile(
      f,
      async (tmp) => {
        await gate;
        await writeFile(tmp, 'bytes');
        await stalled; // a writer that never finishes (the exit waits for it only so long)
      },
      { tempPath: `${f}.part-2`, durable: false },
    );
    writing.catch(() => undefined);
    const cleaning = runExitCleanups();
    release();
    await cleaning;
    expect(await readdir(d)).toEqual([]);
    unstall();
    await writing.catch(() => undefined);
  });
});
