/**
 * The permission bits of a cached extraction's files as the archive gave them, recorded next to the
 * package's own metadata (`info/.cgl-modes.json`) when the archive is extracted into the cache.
 *
 * Files are hard-linked from the cache into prefixes, so a `chmod` in a prefix changes the cache's
 * copy too; conda-meta records no modes. This record is what `install --repair` (repair.ts) compares
 * a prefix's files with. Extractions made before it existed have none (their modes are not checked).
 */
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MODES_FILE = 'info/.cgl-modes.json';

/** Record the permission bits (0o7777) of every regular file below `extractedDir` outside info/. */
export async function writeModes(extractedDir: string): Promise<void> {
  const modes: Record<string, number> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(rel ? join(extractedDir, rel) : extractedDir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === 'info') continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) modes[r] = (await lstat(join(extractedDir, r))).mode & 0o7777;
    }
  };
  await walk('');
  await writeFile(join(extractedDir, MODES_FILE), `${JSON.stringify({ modes_version: 1, modes })}\n`);
}

/** The recorded modes (package-relative path → bits), or undefined when there is no (readable) record. */
export async function readModes(extractedDir: string): Promise<Map<string, number> | undefined> {
  try {
    const j = JSON.parse(await readFile(join(extractedDir, MODES_FILE), 'utf8')) as { modes_version?: unknown; modes?: Record<string, unknown> };
    if (j.modes_version !== 1 || typeof j.modes !== 'object' || j.modes === null) return undefined;
    return new Map(Object.entries(j.modes).filter((e): e is [string, number] => typeof e[1] === 'number'));
  } catch {
    return undefined;
  }
}
