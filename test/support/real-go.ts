/**
 * A real Go toolchain for tests: Debian's golang-1.19-go (/usr/lib/go-1.19, installed by .ci/run)
 * repackaged the way go.dev ships it — `go1.19.8.linux-amd64.tar.gz` with everything under `go/` —
 * plus a go.dev/dl-shaped release list for it.
 *
 * The GOROOT is trimmed (about 65 MB instead of 330 MB) while `go build`, `go test`, cgo and
 * cross-compiling still work: bin/{go,gofmt}, the pkg/tool binaries the go command runs, pkg/include
 * (assembler headers), the standard library's precompiled pkg/linux_amd64/*.a (without cmd/; go.dev's
 * 1.19 archives ship them too, and they spare every test compiling the standard library for the
 * host) and src/ without src/cmd, *_test.go and testdata/.
 *
 * The archive is built once (with GNU tar, dereferencing Debian's src -> /usr/share/go-1.19 links)
 * into a cache directory under the OS temp dir keyed by the toolchain's VERSION and go binary, and
 * renamed into place so parallel test workers never see a half-written file. It is never committed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEBIAN_GOROOT = process.env.CONDA_GO_LOCK_TEST_GOROOT ?? '/usr/lib/go-1.19';
export const REAL_GO_VERSION = '1.19.8';
export const REAL_GO_FILENAME = `go${REAL_GO_VERSION}.linux-amd64.tar.gz`;

function detect(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return 'the real-toolchain tests need linux/amd64';
  if (!existsSync(join(DEBIAN_GOROOT, 'bin', 'go'))) {
    return `${DEBIAN_GOROOT}/bin/go not found (apt-get install golang-1.19-go; .ci/run does)`;
  }
  const version = readFileSync(join(DEBIAN_GOROOT, 'VERSION'), 'utf8').split('\n')[0]!.trim();
  if (version !== `go${REAL_GO_VERSION}`) return `${DEBIAN_GOROOT} is ${version}, the tests expect go${REAL_GO_VERSION}`;
  if (spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU tar') !== true) return 'GNU tar not found';
  return undefined;
}

const missing = detect();
/** Whether the real toolchain can be repackaged here. */
export const haveRealGo = missing === undefined;
export const realGoSkipReason = `skipping the real Go toolchain tests: ${missing ?? ''}`;
if (missing !== undefined) console.warn(`[conda-go-lock tests] ${realGoSkipReason}`);

/** The tools `go build`, `go test` (vet, test2json, cover) and cgo run. */
const TOOLS = ['asm', 'buildid', 'cgo', 'compile', 'cover', 'link', 'pack', 'test2json', 'vet'];

export interface RealGoArchive {
  path: string;
  filename: string;
  version: string;
  sha256: string;
  size: number;
}

let building: Promise<RealGoArchive> | undefined;

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Build (or reuse) the repackaged archive. */
export function realGoArchive(): Promise<RealGoArchive> {
  if (!haveRealGo) return Promise.reject(new Error(realGoSkipReason));
  building ??= (async () => {
    const goBin = statSync(join(DEBIAN_GOROOT, 'bin', 'go'));
    const key = createHash('sha256')
      .update(`${DEBIAN_GOROOT}\0${goBin.size}\0${goBin.mtimeMs}\0${TOOLS.join(',')}\0v2`)
      .digest('hex')
      .slice(0, 16);
    const dir = join(tmpdir(), `conda-go-lock-test-go${REAL_GO_VERSION}-${key}`);
    const path = join(dir, REAL_GO_FILENAME);
    if (!existsSync(path)) {
      await mkdir(dir, { recursive: true });
      const part = `${path}.${process.pid}.${Date.now()}.part`;
      const r = spawnSync(
        'tar',
        [
          '-C', DEBIAN_GOROOT,
          '--dereference', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=2023-04-04 00:00Z',
          '--exclude=./src/cmd', '--exclude=./pkg/linux_amd64/cmd', '--exclude=testdata', '--exclude=*_test.go',
          '--transform=s,^\\.,go,',
          '--use-compress-program=gzip -1',
          '-cf', part,
          './VERSION', './bin/go', './bin/gofmt', './pkg/include', './pkg/linux_amd64', ...TOOLS.map((t) => `./pkg/tool/linux_amd64/${t}`), './src',
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) {
        await rm(part, { force: true });
        throw new Error(`repackaging ${DEBIAN_GOROOT} failed: ${r.stderr}`);
      }
      await rename(part, path); // atomic: another worker may have done the same; either file is fine
    }
    return { path, filename: REAL_GO_FILENAME, version: REAL_GO_VERSION, sha256: await sha256File(path), size: (await stat(path)).size };
  })();
  return building;
}

/** A go.dev/dl `?mode=json&include=all`-shaped list with the one release. */
export function realGoReleases(a: RealGoArchive, sha256 = a.sha256): unknown[] {
  return [
    {
      version: `go${a.version}`,
      stable: true,
      files: [{ filename: a.filename, os: 'linux', arch: 'amd64', version: `go${a.version}`, sha256, size: a.size, kind: 'archive' }],
    },
  ];
}
