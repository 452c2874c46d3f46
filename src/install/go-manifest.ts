/**
 * The Go toolchain's file manifest: `PREFIX/conda-meta/go-toolchain` (JSON, no `.json` suffix so
 * conda and `readPrefixRecords` never take it for a package record).
 *
 * `installGoToolchain` records it right after extracting the verified archive (its sha256 was
 * checked before extraction): the path, size and sha256 of every regular file under PREFIX/go, the
 * target of every symlink, and which files are executable. `verify` and the installer's up-to-date
 * check compare the tree with it like conda packages' `paths_data`, so a replaced `go/bin/go`, an
 * edited `gofmt` or a deleted `pkg/tool/.../compile` is seen (and `install` repairs it).
 */
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mapLimit } from '../net/limit.js';
import { sha256Hex } from './extract/hash.js';

export const GO_MANIFEST_FILE = 'go-toolchain';

export interface GoManifestFile {
  /** Relative to PREFIX/go, '/'-separated. */
  path: string;
  size: number;
  sha256: string;
  /** Executable (any x bit): a toolchain whose bin/go lost its x bit is broken too. */
  exec?: true;
}

export interface GoManifest {
  tool: 'conda-go-lock';
  manifest_version: 1;
  /** The archive the files came from. */
  archive: { filename: string; sha256: string };
  /** Whether the activation sets the cgo variables (environment file `go: {cgo: false}` turns it off). */
  cgo: boolean;
  files: GoManifestFile[];
  symlinks: Array<{ path: string; target: string }>;
}

export interface GoTreeProblem {
  kind: 'missing-file' | 'modified-file';
  /** Relative to the prefix (`go/bin/go`). */
  path: string;
  expected?: string;
  actual?: string;
}

/** Walk `goroot` and hash every file (8 at a time). */
export async function buildGoManifest(
  goroot: string,
  archive: GoManifest['archive'],
  cgo: boolean,
): Promise<GoManifest> {
  const regular: Array<{ rel: string; size: number; exec: boolean }> = [];
  const symlinks: GoManifest['symlinks'] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(full, r);
      else if (entry.isSymbolicLink()) symlinks.push({ path: r, target: await readlink(full) });
      else if (entry.isFile()) {
        const st = await lstat(full);
        regular.push({ rel: r, size: st.size, exec: (st.mode & 0o111) !== 0 });
      }
    }
  };
  await walk(goroot, '');
  const files = await mapLimit(regular, 8, async (f): Promise<GoManifestFile> => {
    const out: GoManifestFile = { path: f.rel, size: f.size, sha256: await sha256Hex(join(goroot, ...f.rel.split('/'))) };
    if (f.exec) out.exec = true;
    return out;
  });
  return { tool: 'conda-go-lock', manifest_version: 1, archive, cgo, files, symlinks };
}

export async function writeGoManifest(prefix: string, manifest: GoManifest): Promise<void> {
  await writeFile(join(prefix, 'conda-meta', GO_MANIFEST_FILE), `${JSON.stringify(manifest)}\n`);
}

/** The recorded manifest, or undefined when there is none (or it is not one of ours). */
export async function readGoManifest(prefix: string): Promise<GoManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(prefix, 'conda-meta', GO_MANIFEST_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const m = JSON.parse(text) as GoManifest;
    if (m?.tool !== 'conda-go-lock' || m.manifest_version !== 1 || !Array.isArray(m.files) || !Array.isArray(m.symlinks)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/**
 * Compare PREFIX/go with the manifest. With `quick`, the first problem ends the check (the
 * installer only needs to know whether to repair).
 */
export async function checkGoTree(
  prefix: string,
  manifest: GoManifest,
  opts: { concurrency?: number; quick?: boolean } = {},
): Promise<{ problems: GoTreeProblem[]; checkedFiles: number }> {
  const goroot = join(prefix, 'go');
  let checkedFiles = 0;
  let failed = false;
  const one = async (f: GoManifestFile): Promise<GoTreeProblem[]> => {
    if (opts.quick && failed) return [];
    const path = `go/${f.path}`;
    const full = join(goroot, ...f.path.split('/'));
    const st = await lstat(full).catch(() => undefined);
    const bad = (p: GoTreeProblem) => {
      failed = true;
      return [p];
    };
    if (!st) return bad({ kind: 'missing-file', path });
    if (!st.isFile()) return bad({ kind: 'modified-file', path, expected: 'regular file', actual: st.isDirectory() ? 'directory' : 'symbolic link' });
    if (st.size !== f.size) return bad({ kind: 'modified-file', path, expected: `${f.size} bytes (sha256 ${f.sha256})`, actual: `${st.size} bytes` });
    if (f.exec && (st.mode & 0o111) === 0) return bad({ kind: 'modified-file', path, expected: 'executable', actual: 'not executable' });
    checkedFiles++;
    const sha = await sha256Hex(full);
    return sha === f.sha256 ? [] : bad({ kind: 'modified-file', path, expected: f.sha256, actual: sha });
  };
  const problems = (await mapLimit(manifest.files, opts.concurrency ?? 8, one)).flat();
  for (const l of manifest.symlinks) {
    const path = `go/${l.path}`;
    const target = await readlink(join(goroot, ...l.path.split('/'))).catch(() => undefined);
    if (target === undefined) problems.push({ kind: 'missing-file', path, expected: `symbolic link to ${l.target}` });
    else if (target !== l.target) problems.push({ kind: 'modified-file', path, expected: `symbolic link to ${l.target}`, actual: target });
  }
  return { problems, checkedFiles };
}
