/**
 * The permission bits of a cached extraction's files as the archive gave them, recorded next to the
 * package's own metadata (`info/conda-go-lock-modes.json`) when the archive is extracted into the cache.
 *
 * Files are hard-linked from the cache into prefixes, so a `chmod` in a prefix changes the cache's
 * copy too; conda-meta records no modes. This record is what `install --repair` (repair.ts) compares
 * a prefix's files with. Extractions made before it existed have none (their modes are not checked).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import { distOf, type PrefixRecord } from './conda-meta.js';
import { noarchPythonPath, pythonMajorMinor } from './noarch-python.js';

export const MODES_FILE = 'info/conda-go-lock-modes.json';

/**
 * Record the permission bits (0o7777) of every regular file below `extractedDir` outside info/:
 * `known` when the extractor reports them (path below extractedDir → bits), else read from the tree.
 */
export async function writeModes(extractedDir: string, known?: ReadonlyMap<string, number>): Promise<void> {
  const modes: Record<string, number> = {};
  if (known) {
    for (const [r, mode] of [...known].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      if (r !== 'info' && !r.startsWith('info/')) modes[r] = mode & 0o7777;
    }
  } else await walkModes(extractedDir, modes);
  // A new file renamed over the path: whatever the archive put there (its own file, a symbolic link
  // to one of its files) is replaced, never written through.
  await writeFileAtomic(join(extractedDir, MODES_FILE), `${JSON.stringify({ modes_version: 1, modes })}\n`, { durable: false });
}

async function walkModes(extractedDir: string, modes: Record<string, number>): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(rel ? join(extractedDir, rel) : extractedDir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === 'info') continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) modes[r] = (await lstat(join(extractedDir, r))).mode & 0o7777;
    }
  };
  await walk('');
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

/** Where the records' package paths were installed: noarch: python files relocated for the records' python. */
export function recordedPrefixPath(records: readonly PrefixRecord[], platform: string): (rec: PrefixRecord, path: string) => string {
  const python = records.find((r) => r.name === 'python');
  const target = python ? { version: pythonMajorMinor(python.version) } : undefined;
  return (r, path) => (r.noarch === 'python' && target ? noarchPythonPath(path, target, platform) : path);
}

/**
 * Files of `records` whose permission bits (0o777) differ from the archive's, as recorded in each
 * package's cached extraction (`extracted_package_dir`). `prefixPath` maps a package path to where the
 * record installed it. Records whose extraction is gone or has no mode record are not checked, nor are
 * the paths in `skip` (already found damaged) or files that are no longer regular files.
 */
export async function modeChanges(
  prefix: string,
  records: readonly PrefixRecord[],
  prefixPath: (rec: PrefixRecord, path: string) => string,
  skip: ReadonlySet<string>,
): Promise<Array<{ name: string; dist: string; path: string; expected: string; actual: string }>> {
  const octal = (m: number) => `mode ${(m & 0o777).toString(8).padStart(4, '0')}`;
  const out: Array<{ name: string; dist: string; path: string; expected: string; actual: string }> = [];
  for (const r of records) {
    const modes = r.extracted_package_dir ? await readModes(r.extracted_package_dir) : undefined;
    if (!modes) continue;
    const owned = new Set(r.files ?? []);
    for (const [path, mode] of modes) {
      const rel = prefixPath(r, path);
      if (!owned.has(rel) || skip.has(rel)) continue;
      const st = await lstat(join(prefix, rel)).catch(() => undefined);
      if (!st?.isFile() || (st.mode & 0o777) === (mode & 0o777)) continue;
      out.push({ name: r.name, dist: distOf(r), path: rel, expected: octal(mode), actual: octal(st.mode) });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
