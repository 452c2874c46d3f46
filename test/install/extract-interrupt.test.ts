/**
 * An interrupt during an extraction on the main thread (`CONDA_GO_LOCK_EXTRACT_WORKERS=0`, one core, or
 * a worker pool that could not start): the extractor stops at its next turn (LoopTurns sees the exit
 * signal) instead of writing on until the archive is done, and the cached extraction's exit cleanup
 * then removes the temporary tree and the extractor's staging directory. Its own file: runExitCleanups()
 * runs once per process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingExitCleanups, runExitCleanups } from '../../src/cleanup.js';
import { InstallError } from '../../src/errors.js';
import { extractCached } from '../../src/install/download.js';
import { extractPackage } from '../../src/install/extract/index.js';
import { haveCli, listDir, writeConda } from '../support/archives.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'cgl-extract-interrupt-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!haveCli('zstd'))('an interrupt during an extraction on the main thread', () => {
  it('stops the extractor at its next turn, then removes the temporary tree and the staging directory', async () => {
    const archive = join(tmp, 'many-1-0.conda');
    await writeConda(archive, {
      stem: basename(archive, '.conda'),
      info: [{ name: 'info/index.json', content: '{"name":"many","version":"1","build":"0"}' }],
      pkg: Array.from({ length: 6000 }, (_, i) => ({ name: `share/d${i % 30}/f${i}.txt`, content: `file ${i}\n`.repeat(200) })),
    });
    const cache = join(tmp, 'cache');
    const extracted = join(cache, 'extracted');
    const job = extractCached((a, d) => extractPackage(a, d), archive, 'k'.repeat(64), cache).catch((e: unknown) => e);
    for (const deadline = Date.now() + 30_000; ; ) {
      const s = (await listDir(extracted)).find((n) => n.includes('.extracting-'));
      if (s && (await listDir(join(extracted, s))).includes('share')) break;
      if (Date.now() > deadline) throw new Error('the extraction never started writing');
      await new Promise((r) => setTimeout(r, 5));
    }
    await runExitCleanups();
    const err = await job;
    expect(err).toBeInstanceOf(InstallError);
    // stopped by the exit signal mid-archive, not finished and then refused
    expect((err as Error).message).toMatch(/the process is exiting/);
    expect(await listDir(extracted)).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await listDir(extracted)).toEqual([]);
    expect(pendingExitCleanups()).toBe(0);
  });
});
