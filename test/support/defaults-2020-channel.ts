/**
 * A local conda channel made of the 35 real anaconda-defaults packages of late 2020
 * (../shared/fixtures/packages/defaults-2020-linux-64, see SOURCES.md), plus the two stand-ins
 * SOURCES.md describes for the archives the snapshot lacks:
 *
 * - `python 3.9.1 standin_0`: the host's python3.9 (a pyenv build) copied in as bin/python3.9, with
 *   a pyvenv.cfg whose `home` is the host's, so the interpreter's prefix is the environment and its
 *   site-packages is the environment's lib/python3.9/site-packages; the real record's depends.
 * - `libgcc-ng 9.1.0 standin_0`: a marker file (the host's libgcc_s is used), depends `_libgcc_mutex * main`.
 *
 * repodata.json per subdir comes from each archive's own info/index.json plus its md5, sha256 and
 * size. Archives are symlinked into the channel directory, so `python3 -m http.server` can serve it too.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import { ZipReader } from '../../src/install/extract/zip.js';
import { decodeZstdStream } from '../../src/compress/zstd.js';
import { writeConda, type TarEntrySpec } from './archives.js';
import { afterAll, beforeAll } from 'vitest';
import { ChannelServer } from './channel-server.js';
import { fixture } from './fixtures.js';
import { havePython3, startPythonHttpServer, type PythonHttpServer } from './python-server.js';

export const DEFAULTS_2020 = fixture('packages', 'defaults-2020-linux-64');
export const haveDefaults2020 = existsSync(DEFAULTS_2020);

/** The host's python3.9: on PATH, else under `pyenv root`. Undefined when there is none. */
export function findHostPython39(): string | undefined {
  const onPath = spawnSync('python3.9', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  const candidates: string[] = [];
  if (onPath.status === 0 && onPath.stdout.trim()) candidates.push(onPath.stdout.trim());
  const root = spawnSync('pyenv', ['root'], { encoding: 'utf8' });
  const pyenvRoot = root.status === 0 ? root.stdout.trim() : join(process.env.HOME ?? '/root', '.pyenv');
  const versions = join(pyenvRoot, 'versions');
  if (existsSync(versions)) {
    for (const v of readdirSync(versions).filter((n) => n.startsWith('3.9')).sort().reverse()) candidates.push(join(versions, v, 'bin', 'python3.9'));
  }
  // A pyenv shim is a shell script; the real interpreter is an ELF file.
  return candidates.find((c) => existsSync(c) && readFileSync(c).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])));
}

export type ChannelRecord = Record<string, unknown> & { name: string; version: string; build: string; subdir: string };

export interface DefaultsChannel {
  /** The channel directory: linux-64/ and noarch/ with repodata.json and the archives (symlinks). */
  dir: string;
  /** Every record, keyed by file name. */
  records: Map<string, ChannelRecord>;
  /** True when the python stand-in was built (a host python3.9 exists). */
  python: boolean;
  hostPython?: string;
  cleanup(): Promise<void>;
}

/** info/index.json of a .conda, read from its info-*.tar.zst member only. */
async function indexJsonOf(archive: string): Promise<ChannelRecord> {
  const zip = await ZipReader.open(archive);
  try {
    const info = (await zip.members()).find((m) => /^info-.*\.tar\.zst$/.test(m.name));
    if (!info) throw new Error(`${archive}: no info-*.tar.zst`);
    const tar = tarExtract();
    Readable.from(decodeZstdStream(await zip.open(info), (cause) => new Error(`${archive}: corrupt zstd in ${info.name}`, { cause }))).pipe(tar);
    // Read the member to its end: an abandoned zstd stream keeps its decoder context (and wasm memory) alive.
    let index: ChannelRecord | undefined;
    for await (const entry of tar) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      if (entry.header.name === 'info/index.json') index = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    }
    if (!index) throw new Error(`${archive}: no info/index.json`);
    return index;
  } finally {
    zip.close();
  }
}

async function sha256md5(path: string): Promise<{ sha256: string; md5: string; size: number }> {
  const b = await readFile(path);
  return { sha256: createHash('sha256').update(b).digest('hex'), md5: createHash('md5').update(b).digest('hex'), size: b.length };
}

function paths(entries: TarEntrySpec[]): string {
  const files = entries.filter((e) => (e.type ?? 'file') !== 'directory');
  return JSON.stringify({
    paths: files.map((e) => ({
      _path: e.name,
      path_type: e.type === 'symlink' ? 'softlink' : 'hardlink',
      ...(e.type === 'symlink' ? {} : { sha256: createHash('sha256').update(e.content ?? '').digest('hex'), size_in_bytes: Buffer.from(e.content ?? '').length }),
    })),
    paths_version: 1,
  });
}

async function standIn(dir: string, index: Record<string, unknown>, pkg: TarEntrySpec[]): Promise<string> {
  const fn = `${index.name}-${index.version}-${index.build}.conda`;
  await writeConda(join(dir, fn), {
    stem: `${index.name}-${index.version}-${index.build}`,
    metadata: '{"conda_pkg_format_version": 2}',
    pkg,
    info: [
      { name: 'info/index.json', content: JSON.stringify(index) },
      { name: 'info/paths.json', content: paths(pkg) },
      { name: 'info/files', content: pkg.map((e) => e.name).join('\n') + '\n' },
    ],
  });
  return fn;
}

/** Build the channel in a temp dir. */
export async function buildDefaultsChannel(): Promise<DefaultsChannel> {
  const dir = await mkdtemp(join(tmpdir(), 'cgl-defaults-'));
  await mkdir(join(dir, 'linux-64'), { recursive: true });
  await mkdir(join(dir, 'noarch'), { recursive: true });
  const records: DefaultsChannel['records'] = new Map();
  const add = async (archive: string, fn: string) => {
    const index = await indexJsonOf(archive);
    const rec: ChannelRecord = { ...index, ...(await sha256md5(archive)) };
    records.set(fn, rec);
    const link = join(dir, index.subdir, fn);
    if (!existsSync(link)) await symlink(archive, link);
  };
  for (const fn of readdirSync(DEFAULTS_2020).filter((f) => f.endsWith('.conda')).sort()) await add(join(DEFAULTS_2020, fn), fn);

  const standins = join(dir, '.standins');
  await mkdir(standins);
  const libgcc = await standIn(
    standins,
    { name: 'libgcc-ng', version: '9.1.0', build: 'standin_0', build_number: 0, subdir: 'linux-64', arch: 'x86_64', platform: 'linux', depends: ['_libgcc_mutex * main'], license: 'GPL-3.0-only WITH GCC-exception-3.1' },
    [{ name: 'share/libgcc-ng-standin/README', content: 'stand-in for libgcc-ng 9.1.0 hdf63c60_0: the host libgcc_s is used\n' }],
  );
  await add(join(standins, libgcc), libgcc);

  const hostPython = findHostPython39();
  if (hostPython) {
    const home = join(hostPython, '..');
    const py = await standIn(
      standins,
      {
        name: 'python', version: '3.9.1', build: 'standin_0', build_number: 0, subdir: 'linux-64', arch: 'x86_64', platform: 'linux', license: 'Python-2.0',
        depends: ['ld_impl_linux-64', 'libffi >=3.3,<3.4.0a0', 'libgcc-ng >=7.3.0', 'libstdcxx-ng >=7.3.0', 'ncurses >=6.2,<7.0a0', 'openssl >=1.1.1i,<1.1.2a', 'readline >=8.0,<9.0a0', 'sqlite >=3.33.0,<4.0a0', 'tk >=8.6.10,<8.7.0a0', 'tzdata', 'xz >=5.2.5,<6.0a0', 'zlib >=1.2.11,<1.3.0a0'],
      },
      [
        { name: 'bin/python3.9', content: await readFile(hostPython), mode: 0o755 },
        { name: 'bin/python3', type: 'symlink', linkname: 'python3.9' },
        { name: 'bin/python', type: 'symlink', linkname: 'python3.9' },
        { name: 'pyvenv.cfg', content: `home = ${home}\ninclude-system-site-packages = false\nversion = 3.9\n` },
        { name: 'lib/python3.9/site-packages/README.txt', content: 'stand-in python 3.9: site-packages of the environment\n' },
      ],
    );
    await add(join(standins, py), py);
  }

  for (const subdir of ['linux-64', 'noarch']) {
    const packagesConda: Record<string, unknown> = {};
    for (const [fn, r] of records) if (r.subdir === subdir) packagesConda[fn] = r;
    await writeFile(join(dir, subdir, 'repodata.json'), JSON.stringify({ info: { subdir }, packages: {}, 'packages.conda': packagesConda, repodata_version: 1 }));
  }
  return { dir, records, python: Boolean(hostPython), hostPython, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The channel served over loopback HTTP: by our node server at `/defaults`, and by `python3 -m http.server` when there is a python3. */
export interface ServedDefaultsChannel {
  channel: DefaultsChannel;
  node: ChannelServer;
  /** `python3 -m http.server` over the channel directory (HTTP/1.0); undefined without python3. */
  py?: PythonHttpServer;
  /** A scratch directory for the test, removed afterwards. */
  dir: string;
}

/**
 * For a describe block: build and serve the channel before its tests (and make a scratch directory
 * named `cgl-<label>-*`), stop and remove everything after them. Read the fields inside the tests.
 */
export function serveDefaultsChannel(label: string): ServedDefaultsChannel {
  const served = {} as ServedDefaultsChannel;
  beforeAll(async () => {
    served.dir = await mkdtemp(join(tmpdir(), `cgl-${label}-`));
    served.channel = await buildDefaultsChannel();
    served.node = await new ChannelServer().mount('/defaults', served.channel.dir).start();
    if (havePython3) served.py = await startPythonHttpServer(served.channel.dir);
  }, 120_000);
  afterAll(async () => {
    await served.node?.stop();
    await served.py?.stop();
    await served.channel?.cleanup();
    if (served.dir) await rm(served.dir, { recursive: true, force: true });
  });
  return served;
}
