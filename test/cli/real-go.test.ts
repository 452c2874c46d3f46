/**
 * A real Go toolchain end to end through the CLI: Debian's go1.19 repackaged as go.dev's
 * go1.19.8.linux-amd64.tar.gz (test/support/real-go.ts) and the real anaconda-defaults sqlite 3.33.0
 * (+ zlib, ncurses, libedit ...) from ../shared/fixtures, served from 127.0.0.1 by our node server and
 * by Python's HTTP/1.0 http.server. From the installed prefix, with nothing but its activation:
 * `go build`, `go test`, cross-compiling, and cgo programs that compile against the environment's
 * sqlite3.h and run against its libsqlite3 (rpath, no LD_LIBRARY_PATH) — the host has sqlite 3.40
 * in /usr, so a program that prints 3.33.0 twice used the environment's header and library.
 * Then the toolchain's integrity: tampered files fail `verify` and `install` repairs them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
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

  /** sqlite from the served defaults channel and the Go toolchain. */
  function writeEnv(path: string, channel: string) {
    return writeFile(path, `channels:\n  - ${channel}\n  - nodefaults\ndependencies:\n  - sqlite 3.33.0\ngo: "1.19.*"\n`);
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

  it.each([
    ['#cgo LDFLAGS: -lsqlite3', 'cgo-ldflags'],
    ['#cgo pkg-config: sqlite3', 'cgo-pkgconfig'],
  ])('cgo with "%s" compiles against the environment\'s sqlite3.h and runs against its libsqlite3 with no LD_LIBRARY_PATH', async (directive, name) => {
    const mod = join(dir, name);
    await mkdir(mod, { recursive: true });
    await writeFile(join(mod, 'go.mod'), `module example.com/${name}\n\ngo 1.19\n`);
    await writeFile(join(mod, 'main.go'), cgoProgram(directive));
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
});
