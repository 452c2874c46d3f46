/**
 * A conda channel on disk built from package descriptions: real `.tar.bz2` archives (info/index.json,
 * info/paths.json with sha256 + size, the files) and a repodata.json per subdir, ready to be mounted on
 * a ChannelServer and locked / installed through the CLI.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTarBz2, type TarEntrySpec } from './archives.js';

export interface FileSpec {
  content: string | Buffer;
  mode?: number;
  /** A prefix placeholder the file contains, recorded in info/paths.json (and info/has_prefix). */
  placeholder?: string;
  fileMode?: 'text' | 'binary';
}

export interface PackageSpec {
  name: string;
  version: string;
  build?: string;
  build_number?: number;
  subdir?: string;
  depends?: string[];
  /** Relative path → content (or content + mode). */
  files: Record<string, string | Buffer | FileSpec>;
  /** Symbolic links: relative path → target. */
  symlinks?: Record<string, string>;
  /** More files under info/ (e.g. `link.json` of a noarch: python package): name → content. */
  info?: Record<string, string>;
  /** Fields of info/index.json to override (e.g. a lying `build`). */
  index?: Record<string, unknown>;
  /** Fields of the repodata record to override (e.g. a hostile `build`), after the archive is written. */
  record?: Record<string, unknown>;
}

export interface BuiltPackage {
  fn: string;
  subdir: string;
  record: Record<string, unknown>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function fileSpec(v: string | Buffer | FileSpec): FileSpec {
  return typeof v === 'string' || Buffer.isBuffer(v) ? { content: v } : v;
}

/** Write one package archive into `<channelDir>/<subdir>/` and return its repodata record. */
export async function buildPackage(channelDir: string, spec: PackageSpec): Promise<BuiltPackage> {
  const build = spec.build ?? 'h0_0';
  const subdir = spec.subdir ?? 'linux-64';
  const fn = `${spec.name}-${spec.version}-${build}.tar.bz2`;
  const index = {
    name: spec.name,
    version: spec.version,
    build,
    build_number: spec.build_number ?? 0,
    subdir,
    depends: spec.depends ?? [],
    ...spec.index,
  };
  const paths = [] as Array<Record<string, unknown>>;
  const entries: TarEntrySpec[] = [];
  for (const [rel, v] of Object.entries(spec.files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const f = fileSpec(v);
    const buf = Buffer.from(f.content);
    entries.push({ name: rel, content: buf, mode: f.mode ?? 0o644 });
    paths.push({
      _path: rel,
      path_type: 'hardlink',
      ...(f.placeholder ? { prefix_placeholder: f.placeholder, file_mode: f.fileMode ?? 'text' } : {}),
      sha256: sha256(buf),
      size_in_bytes: buf.length,
    });
  }
  for (const [rel, target] of Object.entries(spec.symlinks ?? {})) {
    entries.push({ name: rel, type: 'symlink', linkname: target });
    paths.push({ _path: rel, path_type: 'softlink' });
  }
  entries.push({ name: 'info/index.json', content: JSON.stringify(index, null, 2) });
  entries.push({ name: 'info/paths.json', content: JSON.stringify({ paths_version: 1, paths }, null, 2) });
  entries.push({ name: 'info/files', content: paths.map((p) => p._path).join('\n') + '\n' });
  const hasPrefix = paths.filter((p) => p.prefix_placeholder).map((p) => `${p.prefix_placeholder} ${p.file_mode} ${p._path}`);
  if (hasPrefix.length > 0) entries.push({ name: 'info/has_prefix', content: hasPrefix.join('\n') + '\n' });
  for (const [name, content] of Object.entries(spec.info ?? {})) entries.push({ name: `info/${name}`, content });
  await mkdir(join(channelDir, subdir), { recursive: true });
  const file = join(channelDir, subdir, fn);
  await writeTarBz2(file, entries);
  const bytes = await readFile(file);
  const record = {
    name: spec.name,
    version: spec.version,
    build,
    build_number: spec.build_number ?? 0,
    subdir,
    depends: spec.depends ?? [],
    md5: createHash('md5').update(bytes).digest('hex'),
    sha256: sha256(bytes),
    size: bytes.length,
    timestamp: 1_700_000_000_000,
    ...spec.record,
  };
  return { fn, subdir, record };
}

/** Write every package and `<subdir>/repodata.json` (noarch always present, maybe empty). */
export async function writeChannel(channelDir: string, pkgs: readonly PackageSpec[]): Promise<BuiltPackage[]> {
  const built: BuiltPackage[] = [];
  for (const p of pkgs) built.push(await buildPackage(channelDir, p));
  const subdirs = new Set(['noarch', ...built.map((b) => b.subdir)]);
  for (const subdir of subdirs) {
    const packages: Record<string, unknown> = {};
    for (const b of built) if (b.subdir === subdir) packages[b.fn] = b.record;
    await mkdir(join(channelDir, subdir), { recursive: true });
    await writeFile(join(channelDir, subdir, 'repodata.json'), JSON.stringify({ info: { subdir }, packages, 'packages.conda': {} }, null, 1));
  }
  return built;
}
