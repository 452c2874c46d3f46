/**
 * A real Go toolchain end to end through the CLI: Debian's go1.19 repackaged as go.dev's
 * go1.19.8.linux-amd64.tar.gz (test/support/real-go.ts) and the real anaconda-defaults sqlite 3.33.0
 * (+ zlib, ncurses, libedit ...) from ../shared/fixtures, served from 127.0.0.1 by our node server and
 * by Python's HTTP/1.0 http.server. From the installed prefix, with nothing but its activation:
 * `go build`, `go test`, cross-compiling, and cgo programs that compile against the environment's
 * sqlite3.h and run against its libsqlite3 (rpath, no LD_LIBRARY_PATH) — the host has sqlite 3.40
 * in /usr, so a program that prints 3.33.0 twice used the environment's header and library.
 * Then the toolchain's integrity: tampered files fail `verify` and `install` repairs them; a module
 * fetched from a file:// GOPROXY stays removable; a conda-only lockfile change (conda's compiler added,
 * removed) rewrites the activation's CC; a moved prefix activates from its new path in every shell.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeZip } from '../support/archives.js';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { canIndexDefaults, writeDefaultsChannel, DEFAULTS_2020 } from '../support/defaults-channel.js';
import { fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { haveRealGo, realGoArchive, realGoReleases, realGoSkipReason, REAL_GO_FILENAME } from '../support/real-go.js';
import { havePython3, pythonServerSkipReason, startPythonHttpServer, type PythonHttpServer } from '../support/python-server.js';
import { runCli } from './helpers.js';

const haveCc = spawnSync('sh', ['-c', 'command -v gcc && command -v pkg-config']).status === 0;
const skip = !haveRealGo ? realGoSkipReason : !haveFixtures ? fixturesSkipReason : !existsSync(DEFAULTS_2020) ? `${DEFAULTS_2020} missing` : !canIndexDefaults() ? 'unzip/zstd/tar needed to index the defaults packages' : !haveCc ? 'gcc and pkg-config are needed for the cgo tests (.ci/run installs them)' : '';

describe.skipIf(skip !== '')(`a real Go toolchain in a conda environment${skip ? ` (${skip})` : ''}`, () => {
  let dir: string;
  let site: string;
  let server: ChannelServer;
  let py: PythonHttpServer | undefined;
  let lockfile: string;
  let prefix: string;
  const cache = () => join(dir, 'pkgcache');

  /** Run `script` in bash with only the prefix's activation and a minimal environment. */
  const activated = (script: string, env: Record<string, string> = {}) =>
    spawnSync('bash', ['--noprofile', '--norc', '-ec', `source '${prefix}/etc/conda/activate.d/go.sh'\n${script}`], {
      env: { PATH: '/usr/bin:/bin', HOME: join(dir, 'home'), GOPROXY: 'off', ...env },
      encoding: 'utf8',
      cwd: dir,
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cgl-real-go-'));
    site = join(dir, 'site');
    await mkdir(join(dir, 'home'), { recursive: true });
    const counts = await writeDefaultsChannel(site);
    expect(counts['linux-64']).toBeGreaterThan(20);
    const go = await realGoArchive();
    await mkdir(join(site, 'dl'), { recursive: true });
    await symlink(go.path, join(site, 'dl', REAL_GO_FILENAME));
    await mkdir(join(site, 'godl'), { recursive: true });
    await writeFile(join(site, 'godl', 'releases.json'), JSON.stringify(realGoReleases(go)));
    server = await new ChannelServer().mount('', site).start();

    await writeEnv(join(dir, 'environment.yml'), server.url('/defaults'));
    lockfile = join(dir, 'conda-go-lock.yml');
    const lock = await runCli([
      'lock', '-f', join(dir, 'environment.yml'), '--lockfile', lockfile, '-p', 'linux-64', '--cache-dir', join(dir, 'repocache'),
      '--go-releases-url', server.url('/godl/releases.json'), '-q',
    ]);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    prefix = join(dir, 'env');
    const install = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache(), '-q']);
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await py?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** sqlite from the served defaults channel and the Go toolchain (+ more channels and packages). */
  function writeEnv(path: string, channel: string, more: { channels?: string[]; deps?: string[] } = {}) {
    const channels = [channel, ...(more.channels ?? [])].map((c) => `  - ${c}\n`).join('');
    const deps = ['sqlite 3.33.0', ...(more.deps ?? [])].map((d) => `  - ${d}\n`).join('');
    return writeFile(path, `channels:\n${channels}  - nodefaults\ndependencies:\n${deps}go: "1.19.*"\n`);
  }

  it('installs the locked sqlite and go1.19.8; verify hashes every toolchain file', async () => {
    expect(readFileSync(join(prefix, 'go', 'VERSION'), 'utf8')).toMatch(/^go1\.19\.8/);
    expect(existsSync(join(prefix, 'include', 'sqlite3.h'))).toBe(true);
    const v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(prefix, 'conda-meta', 'go-toolchain'), 'utf8')) as { files: unknown[] };
    expect(manifest.files.length).toBeGreaterThan(2000);
  }, 300_000);

  it('go build and go test work from the activation; Go state stays in the prefix', () => {
    const mod = join(dir, 'hello');
    const r = activated(`mkdir -p '${mod}' && cd '${mod}'
printf 'module example.com/hello\\n\\ngo 1.19\\n' > go.mod
printf 'package main\\n\\nimport "fmt"\\n\\nfunc Greeting() string { return "hello from go" }\\n\\nfunc main() { fmt.Println(Greeting()) }\\n' > main.go
printf 'package main\\n\\nimport "testing"\\n\\nfunc TestGreeting(t *testing.T) {\\n\\tif Greeting() != "hello from go" {\\n\\t\\tt.Fatal(Greeting())\\n\\t}\\n}\\n' > main_test.go
go build -o hello . && ./hello
go test ./...
go env -w GOPRIVATE=example.com/private
go env GOROOT GOENV GOFLAGS GOMODCACHE`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('hello from go');
    expect(lines[1]).toMatch(/^ok\s+example\.com\/hello/);
    expect(lines.slice(2)).toEqual([join(prefix, 'go'), join(prefix, 'gopath', 'env'), '-modcacherw', join(prefix, 'gopath', 'pkg', 'mod')]);
    // `go env -w` wrote into the prefix, not ~/.config/go/env.
    expect(readFileSync(join(prefix, 'gopath', 'env'), 'utf8')).toContain('GOPRIVATE=example.com/private');
    expect(existsSync(join(dir, 'home', '.config', 'go', 'env'))).toBe(false);
  }, 300_000);

  it('cross-compiles for windows/amd64 and darwin/arm64', () => {
    const mod = join(dir, 'tiny');
    // A warm build cache shared between runs (content-addressed by Go, so safe): compiling the
    // standard library for two more targets from scratch costs ~20 s of CPU; main is new every run.
    const gocache = join(tmpdir(), 'conda-go-lock-test-gocache-go1.19.8');
    const r = activated(`mkdir -p '${mod}' && cd '${mod}'
printf 'module tiny\\n\\ngo 1.19\\n' > go.mod
printf 'package main\\n\\nfunc main() { println("%s") }\\n' "${Date.now()}" > main.go
export GOCACHE='${gocache}' CGO_ENABLED=0
GOOS=windows GOARCH=amd64 go build -o tiny.exe .
GOOS=darwin GOARCH=arm64 go build -o tiny.mac .`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(join(mod, 'tiny.exe')).subarray(0, 2).toString('latin1')).toBe('MZ');
    expect(readFileSync(join(mod, 'tiny.mac')).readUInt32LE(0)).toBe(0xfeedfacf); // Mach-O 64-bit
    expect(readFileSync(join(mod, 'tiny.mac')).readUInt32LE(4)).toBe(0x0100000c); // CPU_TYPE_ARM64
  }, 300_000);

  const cgoProgram = (directive: string) => `package main

// ${directive}
// #include <sqlite3.h>
import "C"

import "fmt"

func main() {
\tfmt.Println(C.SQLITE_VERSION, C.GoString(C.sqlite3_libversion()))
}
`;

  /** A module printing the sqlite version it was compiled and linked against. */
  const cgoModule = async (name: string, directive = '#cgo LDFLAGS: -lsqlite3') => {
    const mod = join(dir, name);
    await mkdir(mod, { recursive: true });
    await writeFile(join(mod, 'go.mod'), `module example.com/${name}\n\ngo 1.19\n`);
    await writeFile(join(mod, 'main.go'), cgoProgram(directive));
    return mod;
  };

  it.each([
    ['#cgo LDFLAGS: -lsqlite3', 'cgo-ldflags'],
    ['#cgo pkg-config: sqlite3', 'cgo-pkgconfig'],
  ])('cgo with "%s" compiles against the environment\'s sqlite3.h and runs against its libsqlite3 with no LD_LIBRARY_PATH', async (directive, name) => {
    const mod = await cgoModule(name, directive);
    const r = activated(`cd '${mod}' && go build -o app .`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Run with an empty environment: the rpath finds the prefix's libsqlite3 and its libz.
    const ran = spawnSync(join(mod, 'app'), [], { env: {}, encoding: 'utf8' });
    expect(ran.stderr).toBe('');
    expect(ran.stdout.trim()).toBe('3.33.0 3.33.0');
  }, 300_000);

  it.skipIf(!existsSync('/usr/include/sqlite3.h'))('without the activation the same program builds against the host sqlite (what the activation changes)', async () => {
    const mod = join(dir, 'cgo-ldflags');
    const r = spawnSync('bash', ['--noprofile', '--norc', '-ec', `cd '${mod}' && '${prefix}/go/bin/go' build -o app-host . && ./app-host`], {
      env: { PATH: '/usr/bin:/bin', HOME: join(dir, 'home'), GOPROXY: 'off', GOCACHE: join(prefix, 'gopath', 'cache'), GOFLAGS: '-modcacherw', GOROOT: join(prefix, 'go') },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).not.toContain('3.33.0');
  }, 300_000);

  it('a tampered toolchain fails verify (replaced go, edited gofmt, deleted compile) and install repairs it', async () => {
    await unlink(join(prefix, 'go/bin/go'));
    await writeFile(join(prefix, 'go/bin/go'), '#!/bin/sh\necho "go version go1.19.8 linux/amd64"\n');
    await chmod(join(prefix, 'go/bin/go'), 0o755);
    await writeFile(join(prefix, 'go/bin/gofmt'), Buffer.concat([readFileSync(join(prefix, 'go/bin/gofmt')), Buffer.from('x')]));
    await unlink(join(prefix, 'go/pkg/tool/linux_amd64/compile'));
    const v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix]);
    expect(v.code).toBe(1);
    const out = v.stdout + v.stderr;
    expect(out).toMatch(/modified-file: go1\.19\.8 go\/bin\/go /);
    expect(out).toMatch(/modified-file: go1\.19\.8 go\/bin\/gofmt /);
    expect(out).toMatch(/missing-file: go1\.19\.8 go\/pkg\/tool\/linux_amd64\/compile/);

    const again = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--cache-dir', cache()]);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toContain('already up to date');
    expect((await runCli(['verify', '--lockfile', lockfile, '-p', prefix])).code).toBe(0);
    expect(activated('go version').stdout).toContain('go1.19.8');
    // Now it is up to date again.
    const third = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--cache-dir', cache()]);
    expect(third.stderr).toContain('already up to date');
  }, 600_000);

  it.skipIf(!havePython3)(`lock and install through an HTTP/1.0 server that closes every connection (python http.server)${havePython3 ? '' : ` (${pythonServerSkipReason})`}`, async () => {
    py = await startPythonHttpServer(site);
    const env = join(dir, 'py');
    await mkdir(env, { recursive: true });
    await writeEnv(join(env, 'environment.yml'), `${py.baseUrl}/defaults`);
    const lf = join(env, 'conda-go-lock.yml');
    const lock = await runCli(['lock', '-f', join(env, 'environment.yml'), '--lockfile', lf, '-p', 'linux-64', '--cache-dir', join(env, 'repocache'), '--go-releases-url', `${py.baseUrl}/godl/releases.json`, '-q']);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    expect(readFileSync(lf, 'utf8')).toContain(`${py.baseUrl}/dl/${REAL_GO_FILENAME}`);
    const p2 = join(env, 'env');
    const install = await runCli(['install', '--lockfile', lf, '-p', p2, '--cache-dir', join(env, 'pkgcache'), '-q']);
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    expect((await runCli(['verify', '--lockfile', lf, '-p', p2])).code).toBe(0);
  }, 300_000);
  /** Every directory and file below `root` (not following links), with its permission bits. */
  const modes = (root: string): Array<{ path: string; mode: number; dir: boolean }> => {
    const out: Array<{ path: string; mode: number; dir: boolean }> = [];
    const walk = (p: string) => {
      const st = lstatSync(p);
      out.push({ path: p, mode: st.mode & 0o777, dir: st.isDirectory() });
      if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    };
    walk(root);
    return out;
  };

  it('a module go fetches into the prefix (from a file:// GOPROXY) stays removable: its directories are writable, a non-root rm -rf works (and fails on Go\'s default read-only cache)', async () => {
    // A module proxy on disk, as `go help goproxy` lays it out: list, .info, .mod and the module zip.
    const proxy = join(dir, 'goproxy');
    const v = join(proxy, 'example.com', 'greet', '@v');
    await mkdir(v, { recursive: true });
    const goMod = 'module example.com/greet\n\ngo 1.19\n';
    await writeFile(join(v, 'list'), 'v1.0.0\n');
    await writeFile(join(v, 'v1.0.0.info'), '{"Version":"v1.0.0","Time":"2023-01-01T00:00:00Z"}\n');
    await writeFile(join(v, 'v1.0.0.mod'), goMod);
    await writeZip(join(v, 'v1.0.0.zip'), [
      { name: 'example.com/greet@v1.0.0/go.mod', content: goMod },
      { name: 'example.com/greet@v1.0.0/greet.go', content: 'package greet\n\nimport "example.com/greet/words"\n\nfunc Hello() string { return words.Hello + " from a module" }\n' },
      { name: 'example.com/greet@v1.0.0/words/words.go', content: 'package words\n\nconst Hello = "hello"\n' },
    ]);
    const mod = join(dir, 'uses-greet');
    await mkdir(mod, { recursive: true });
    await writeFile(join(mod, 'go.mod'), 'module example.com/usesgreet\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n');
    await writeFile(join(mod, 'main.go'), 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n');
    const fetchEnv = { GOPROXY: `file://${proxy}`, GOSUMDB: 'off', GOFLAGS: '-mod=mod' };
    const r = activated(`cd '${mod}' && go build -o app . && ./app && echo "$GOFLAGS"`, fetchEnv);
    expect(r.stderr).toBe('go: downloading example.com/greet v1.0.0\n');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['hello from a module', '-modcacherw -mod=mod']);

    // The extracted module and Go's download cache are in the prefix, every directory owner-writable
    // (Go writes the files themselves 0444 either way; unlinking them needs only the directory's w bit).
    const extracted = join(prefix, 'gopath', 'pkg', 'mod', 'example.com', 'greet@v1.0.0');
    const download = join(prefix, 'gopath', 'pkg', 'mod', 'cache', 'download', 'example.com', 'greet');
    expect(readFileSync(join(extracted, 'words', 'words.go'), 'utf8')).toContain('const Hello');
    const dirs = [...modes(extracted), ...modes(download)].filter((e) => e.dir);
    expect(dirs.length).toBeGreaterThanOrEqual(4);
    expect(dirs.filter((e) => (e.mode & 0o200) === 0).map((e) => e.path)).toEqual([]);
    // What it guards against: without -modcacherw (Go's default) the same fetch leaves read-only directories.
    const plainCache = join(dir, 'plain-modcache');
    const plain = activated(`cd '${mod}' && GOFLAGS=-mod=mod GOMODCACHE='${plainCache}' go mod download example.com/greet`, fetchEnv);
    expect(plain.status).toBe(0);
    expect(modes(join(plainCache, 'example.com', 'greet@v1.0.0')).filter((e) => e.dir && (e.mode & 0o200) === 0).length).toBeGreaterThan(0);

    // As a user who is not root (root ignores permission bits: the tests drop to uid 65534 with
    // setpriv when they run as root), `rm -rf` of the prefix's Go state succeeds; of the plain module
    // cache it fails, as the issue reported.
    const root = process.getuid?.() === 0;
    if (!root || spawnSync('setpriv', ['--version']).status === 0) {
      const scratch = await mkdtemp(join(tmpdir(), 'cgl-real-go-rm-'));
      await chmod(scratch, 0o755);
      const ours = join(scratch, 'prefix-pkg');
      const theirs = join(scratch, 'plain-modcache');
      expect(spawnSync('cp', ['-a', join(prefix, 'gopath', 'pkg'), ours]).status).toBe(0);
      expect(spawnSync('cp', ['-a', plainCache, theirs]).status).toBe(0);
      if (root) expect(spawnSync('chown', ['-R', '65534:65534', scratch]).status).toBe(0);
      const rmRf = (p: string) =>
        root ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'rm', '-rf', p], { encoding: 'utf8' }) : spawnSync('rm', ['-rf', p], { encoding: 'utf8' });
      const gone = rmRf(ours);
      expect(gone.stderr).toBe('');
      expect(gone.status).toBe(0);
      expect(existsSync(ours)).toBe(false);
      const refused = rmRf(theirs);
      expect(refused.stderr).toContain('Permission denied');
      expect(refused.status).not.toBe(0);
      spawnSync('chmod', ['-R', 'u+w', scratch]);
      await rm(scratch, { recursive: true, force: true });
    }
    spawnSync('chmod', ['-R', 'u+w', plainCache]);
    await rm(plainCache, { recursive: true, force: true });
  }, 300_000);

  it("a lockfile changing only conda packages rewrites the activation: conda's compiler added is the CC cgo uses, removed leaves the user's", async () => {
    // A package shaped like conda-forge's gcc_linux-64: the triplet-named compiler in bin/ (here a
    // wrapper around the host's gcc that records its calls, so we see which compiler cgo ran).
    await writeChannel(join(site, 'tools'), [
      {
        name: 'gcc_linux-64',
        version: '12.3.0',
        files: {
          'bin/x86_64-conda-linux-gnu-cc': { content: '#!/bin/sh\necho "$0" >> "$CGL_TEST_CC_LOG"\nexec gcc "$@"\n', mode: 0o755 },
          'bin/x86_64-conda-linux-gnu-c++': { content: '#!/bin/sh\nexec g++ "$@"\n', mode: 0o755 },
        },
      },
    ]);
    const withCc = join(dir, 'with-cc');
    await mkdir(withCc, { recursive: true });
    await writeEnv(join(withCc, 'environment.yml'), server.url('/defaults'), { channels: [server.url('/tools')], deps: ['gcc_linux-64'] });
    const lf2 = join(withCc, 'conda-go-lock.yml');
    const lock = await runCli([
      'lock', '-f', join(withCc, 'environment.yml'), '--lockfile', lf2, '-p', 'linux-64', '--cache-dir', join(dir, 'repocache'),
      '--go-releases-url', server.url('/godl/releases.json'), '-q',
    ]);
    expect(lock.stderr).toBe('');
    expect(lock.code).toBe(0);
    const goIno = lstatSync(join(prefix, 'go', 'bin', 'go')).ino;
    const modFile = join(prefix, 'gopath', 'pkg', 'mod', 'example.com', 'greet@v1.0.0', 'greet.go');
    const hadModule = existsSync(modFile);

    const added = await runCli(['install', '--lockfile', lf2, '-p', prefix, '--cache-dir', cache()]);
    expect(added.code).toBe(0);
    expect(added.stderr).toContain('+ gcc_linux-64-12.3.0-h0_0');
    expect(lstatSync(join(prefix, 'go', 'bin', 'go')).ino).toBe(goIno); // the toolchain was kept
    expect(existsSync(modFile)).toBe(hadModule); // and Go's module cache
    const log = join(dir, 'cc-calls.log');
    const mod = await cgoModule('cgo-conda-cc');
    const built = activated(`cd '${mod}' && echo "$CC" && go build -o app-cc . && ./app-cc`, { CGL_TEST_CC_LOG: log, CC: 'cc-of-the-user' });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    expect(built.stdout.trim().split('\n')).toEqual([join(prefix, 'bin', 'x86_64-conda-linux-gnu-cc'), '3.33.0 3.33.0']);
    expect(readFileSync(log, 'utf8')).toContain(join(prefix, 'bin', 'x86_64-conda-linux-gnu-cc'));
    expect((await runCli(['verify', '--lockfile', lf2, '-p', prefix])).code).toBe(0);

    // Back to the first lockfile: the compiler package goes, and with it the activation's CC.
    const removed = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--cache-dir', cache()]);
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain('- gcc_linux-64-12.3.0-h0_0');
    const after = activated('echo "$CC|${CXX-unset}"', { CC: 'cc-of-the-user' });
    expect(after.stdout.trim()).toBe('cc-of-the-user|unset');
    expect((await runCli(['verify', '--lockfile', lockfile, '-p', prefix])).code).toBe(0);
  }, 600_000);

  it('a moved prefix activates from its new place in dash, bash, zsh and fish with no CONDA_PREFIX: go runs and builds there', async () => {
    const moved = `${prefix}-moved`;
    await rename(prefix, moved);
    try {
      const report = 'go version; go env GOROOT GOPATH GOMODCACHE GOCACHE GOENV; echo "$CGO_LDFLAGS"';
      const shells: Array<[string, string[], string]> = [
        ['dash', ['-c'], `. '${moved}/etc/conda/activate.d/go.sh'\n${report}`],
        ['bash', ['--noprofile', '--norc', '-c'], `source '${moved}/etc/conda/activate.d/go.sh'\n${report}`],
        ['zsh', ['-f', '-c'], `source '${moved}/etc/conda/activate.d/go.sh'\n${report}`],
        ['fish', ['--no-config', '-c'], `source '${moved}/etc/conda/activate.d/go.fish'\n${report}`],
      ];
      const want = ['go version go1.19.8 linux/amd64', ...['go', 'gopath', 'gopath/pkg/mod', 'gopath/cache', 'gopath/env'].map((p) => join(moved, p)), `-L${moved}/lib -Wl,-rpath,${moved}/lib -g -O2`];
      const tested: string[] = [];
      for (const [shell, args, script] of shells) {
        if (spawnSync(shell, [...args, 'true']).status !== 0) continue; // zsh or fish not installed here
        tested.push(shell);
        const r = spawnSync(shell, [...args, script], { env: { PATH: '/usr/bin:/bin', HOME: join(dir, 'home'), GOPROXY: 'off' }, encoding: 'utf8', cwd: dir });
        expect({ shell, stderr: r.stderr, status: r.status }).toEqual({ shell, stderr: '', status: 0 });
        expect(r.stdout.trim().split('\n')).toEqual(want);
      }
      expect(tested).toEqual(expect.arrayContaining(['dash', 'bash'])); // the POSIX sh case is the point
      // dash builds a cgo program against the moved prefix's sqlite, and it runs with no environment.
      const mod = await cgoModule('cgo-moved');
      const b = spawnSync('dash', ['-c', `. '${moved}/etc/conda/activate.d/go.sh' && cd '${mod}' && go build -o app-moved .`], {
        env: { PATH: '/usr/bin:/bin', HOME: join(dir, 'home'), GOPROXY: 'off' },
        encoding: 'utf8',
      });
      expect(b.stderr).toBe('');
      expect(b.status).toBe(0);
      const ran = spawnSync(join(mod, 'app-moved'), [], { env: {}, encoding: 'utf8' });
      expect(ran.stdout.trim()).toBe('3.33.0 3.33.0');
    } finally {
      await rename(moved, prefix);
    }
  }, 300_000);
});
