/**
 * Issue 8 §3: an update applies the difference and keeps user state. Through the CLI against a
 * loopback channel of real .tar.bz2 packages and a go.dev/dl-shaped release list:
 * a prefix with a hand-added file, a pip-style package in site-packages and a Go module cache with
 * read-only directories gets `install` of a changed lockfile (one package added, one removed, one
 * upgraded), keeps all three, verifies, and survives `kill -9` at several points of the update — also
 * when run as an unprivileged user, for whom the read-only directories are binding (root ignores them).
 * A compiler package added or removed with the Go pin unchanged rewrites the Go activation's CC/CXX.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeGoArchive } from '../support/archives.js';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel, type PackageSpec } from '../support/conda-channel.js';
import { projectRoot } from '../support/fixtures.js';
import { runCli, runCliKilledAt } from './helpers.js';

const SP = 'lib/python3.9/site-packages';
let server: ChannelServer;
let dir: string;
const lockV1 = () => join(dir, 'v1.yml');
const lockV2 = () => join(dir, 'v2.yml');
const lockV3 = () => join(dir, 'v3.yml');
const lockV4 = () => join(dir, 'v4.yml');
const lockV5 = () => join(dir, 'v5.yml');
const cache = () => join(dir, 'pkgcache');

const packages: PackageSpec[] = [
  { name: 'zlib', version: '1.2.11', files: { 'lib/libz.so.1.2.11': 'zlib 1.2.11\n', 'include/zlib.h': '/* 1.2.11 */\n' } },
  { name: 'zlib', version: '1.3.1', files: { 'lib/libz.so.1.3.1': 'zlib 1.3.1\n', 'include/zlib.h': '/* 1.3.1 */\n' } },
  { name: 'keepme', version: '1.0', files: { 'share/keepme/data.txt': 'kept\n', [`${SP}/keepme/__init__.py`]: '' } },
  { name: 'oldpkg', version: '1.0', files: { [`${SP}/oldpkg/__init__.py`]: 'old = 1\n', 'bin/oldtool': { content: '#!/bin/sh\n', mode: 0o755 } } },
  { name: 'newpkg', version: '2.0', files: { 'share/newpkg/readme': 'new\n' } },
  // Shaped like conda-forge's gcc_linux-64 activation package: the triplet-named compiler in bin/.
  {
    name: 'gcc_linux-64',
    version: '12.3.0',
    files: {
      'bin/x86_64-conda-linux-gnu-cc': { content: '#!/bin/sh\nexec gcc "$@"\n', mode: 0o755 },
      'bin/x86_64-conda-linux-gnu-c++': { content: '#!/bin/sh\nexec g++ "$@"\n', mode: 0o755 },
    },
  },
];

async function lock(name: string, deps: string[], goSpec: string) {
  const env = join(dir, `${name}.environment.yml`);
  writeFileSync(env, `channels:\n  - ${server.url('/chan')}\ndependencies:\n${deps.map((d) => `  - ${d}\n`).join('')}go: "${goSpec}"\n`);
  const r = await runCli([
    'lock', '-f', env, '--lockfile', join(dir, `${name}.yml`), '-p', 'linux-64', '--cache-dir', join(dir, 'repocache'),
    '--go-releases-url', server.url('/godl/releases.json'), '-q',
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cgl-update-'));
  await writeChannel(join(dir, 'chan'), packages);
  server = new ChannelServer().mount('/chan', join(dir, 'chan'));
  const releases = [];
  for (const v of ['1.22.5', '1.22.6']) {
    const bytes = await fakeGoArchive(v);
    const file = `go${v}.linux-amd64.tar.gz`;
    server.route(`/dl/${file}`, bytes);
    releases.push({
      version: `go${v}`,
      stable: true,
      files: [{ filename: file, os: 'linux', arch: 'amd64', version: `go${v}`, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, kind: 'archive' }],
    });
  }
  server.route('/godl/releases.json', JSON.stringify(releases.reverse()), 'application/json');
  await server.start();
  await lock('v1', ['zlib 1.2.11', 'keepme', 'oldpkg'], '1.22.5');
  await lock('v2', ['zlib 1.3.*', 'keepme', 'newpkg'], '1.22.5');
  await lock('v3', ['zlib 1.3.*', 'keepme', 'newpkg'], '1.22.6');
  await lock('v4', ['zlib 1.3.*', 'keepme', 'newpkg', 'gcc_linux-64'], '1.22.6');
  await lock('v5', ['zlib 1.3.*', 'keepme', 'newpkg', 'gcc_linux-64'], '1.22.5');
}, 60_000);
afterAll(async () => {
  await server.stop();
  // The module cache is read-only, as Go leaves it.
  const walk = (p: string) => {
    if (!existsSync(p) || !statSync(p).isDirectory()) return;
    chmodSync(p, 0o755);
    for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  rmSync(dir, { recursive: true, force: true });
});

const install = (prefix: string, lockfile: string, ...more: string[]) =>
  runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache(), ...more]);
const verify = (prefix: string, lockfile: string) => runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64']);

/** User state no package owns: a hand-added file, a pip-installed package, a Go module cache with 0555 dirs. */
function addUserState(prefix: string): void {
  writeFileSync(join(prefix, 'notes.txt'), 'mine\n');
  mkdirSync(join(prefix, SP, 'requests'), { recursive: true });
  writeFileSync(join(prefix, SP, 'requests', '__init__.py'), '# pip installed\n');
  mkdirSync(join(prefix, SP, 'requests-2.31.0.dist-info'), { recursive: true });
  writeFileSync(join(prefix, SP, 'requests-2.31.0.dist-info', 'RECORD'), 'requests/__init__.py,,\n');
  // Python's byte-code cache inside a package directory that the update removes.
  mkdirSync(join(prefix, SP, 'oldpkg', '__pycache__'), { recursive: true });
  writeFileSync(join(prefix, SP, 'oldpkg', '__pycache__', '__init__.cpython-39.pyc'), 'pyc');
  const mod = join(prefix, 'gopath', 'pkg', 'mod', 'example.com', 'm@v1.0.0');
  mkdirSync(mod, { recursive: true });
  writeFileSync(join(mod, 'go.mod'), 'module example.com/m\n');
  chmodSync(join(mod, 'go.mod'), 0o444);
  chmodSync(mod, 0o555);
  chmodSync(join(prefix, 'gopath', 'pkg', 'mod', 'example.com'), 0o555);
}

function expectUserState(prefix: string): void {
  expect(readFileSync(join(prefix, 'notes.txt'), 'utf8')).toBe('mine\n');
  expect(readFileSync(join(prefix, SP, 'requests', '__init__.py'), 'utf8')).toBe('# pip installed\n');
  expect(existsSync(join(prefix, SP, 'requests-2.31.0.dist-info', 'RECORD'))).toBe(true);
  expect(existsSync(join(prefix, SP, 'oldpkg', '__pycache__', '__init__.cpython-39.pyc'))).toBe(true);
  expect(readFileSync(join(prefix, 'gopath', 'pkg', 'mod', 'example.com', 'm@v1.0.0', 'go.mod'), 'utf8')).toBe('module example.com/m\n');
}

function expectV2(prefix: string): void {
  const meta = readdirSync(join(prefix, 'conda-meta')).sort();
  expect(meta.filter((n) => n.endsWith('.json'))).toEqual(['keepme-1.0-h0_0.json', 'newpkg-2.0-h0_0.json', 'zlib-1.3.1-h0_0.json']);
  expect(meta.filter((n) => n.startsWith('.cgl'))).toEqual([]);
  expect(existsSync(join(prefix, 'lib', 'libz.so.1.2.11'))).toBe(false);
  expect(readFileSync(join(prefix, 'lib', 'libz.so.1.3.1'), 'utf8')).toBe('zlib 1.3.1\n');
  expect(readFileSync(join(prefix, 'include', 'zlib.h'), 'utf8')).toBe('/* 1.3.1 */\n');
  expect(existsSync(join(prefix, SP, 'oldpkg', '__init__.py'))).toBe(false);
  expect(existsSync(join(prefix, 'bin', 'oldtool'))).toBe(false);
  expect(readFileSync(join(prefix, 'share', 'newpkg', 'readme'), 'utf8')).toBe('new\n');
}

let seq = 0;
async function prefixAtV1(): Promise<string> {
  const prefix = join(dir, `env-${seq++}`);
  const r = await install(prefix, lockV1(), '-q');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  addUserState(prefix);
  return prefix;
}

describe('install of a changed lockfile into an existing environment', () => {
  it('removes, upgrades and adds one package each, keeps every file no package owns, prints the plan first, and verifies', async () => {
    const prefix = await prefixAtV1();
    const goVersionBefore = statSync(join(prefix, 'go', 'VERSION')).ino;
    const goRequests = server.requestsTo(/\/dl\//).length;
    const r = await install(prefix, lockV2());
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n');
    const head = lines.findIndex((l) => l.startsWith('Updating '));
    expect(lines[head]).toContain('1 to remove, 1 to change, 1 to add, 1 unchanged');
    expect(lines.slice(head + 1, head + 4)).toEqual(['  - oldpkg-1.0-h0_0', '  ~ zlib-1.2.11-h0_0 -> zlib-1.3.1-h0_0', '  + newpkg-2.0-h0_0']);
    expectV2(prefix);
    expectUserState(prefix);
    // The kept package was not touched, nor the Go toolchain (same pin): not even downloaded.
    expect(statSync(join(prefix, 'go', 'VERSION')).ino).toBe(goVersionBefore);
    expect(server.requestsTo(/\/dl\//).length).toBe(goRequests);
    const v = await verify(prefix, lockV2());
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);
    // The history keeps the first install's entry and adds this one.
    const history = readFileSync(join(prefix, 'conda-meta', 'history'), 'utf8');
    expect(history.match(/^==> /gm)).toHaveLength(2);
    expect(history).toContain('-');
    expect(history).toMatch(/\+.*::newpkg-2\.0-h0_0/);
    expect(history).toMatch(/-.*::oldpkg-1\.0-h0_0/);

    // Then a Go pin change replaces go/ only; the read-only module cache stays.
    const g = await install(prefix, lockV3());
    expect(g.stderr).toContain('Go toolchain: change');
    // Our own Go manifest (conda-meta/go-toolchain) is not reported as someone's file being replaced.
    expect(g.stderr).not.toContain('no package owned');
    expect(g.stderr).not.toMatch(/warning|error/);
    expect(g.code).toBe(0);
    expect(readFileSync(join(prefix, 'go', 'VERSION'), 'utf8')).toMatch(/^go1\.22\.6/);
    expectUserState(prefix);
    expect((await verify(prefix, lockV3())).code).toBe(0);
  });

  // Root ignores permission bits, so a read-only module cache can only block an install run by someone
  // else: the same update as an unprivileged user (uid 65534), as a developer's install runs.
  const canDropRoot = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
  it.skipIf(!canDropRoot)('as an unprivileged user, installs of changed lockfiles (packages, then the Go pin) succeed over a module cache with read-only directories', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'cgl-update-nobody-'));
    chmodSync(scratch, 0o755);
    try {
      const prefix = join(scratch, 'env');
      const nobodyCache = join(scratch, 'pkgcache');
      const first = await runCli(['install', '--lockfile', lockV1(), '-p', prefix, '--platform', 'linux-64', '--cache-dir', nobodyCache, '-q']);
      expect(first.code).toBe(0);
      addUserState(prefix);
      expect(spawnSync('chown', ['-R', '65534:65534', scratch]).status).toBe(0);
      // The lockfiles sit in the test's private directory: that user gets copies.
      const readable = (lockfile: string) => {
        const copy = join(scratch, lockfile.split('/').pop()!);
        writeFileSync(copy, readFileSync(lockfile));
        return copy;
      };
      // Asynchronously: the channel server answering the downloads runs in this process.
      const asNobody = (lockfile: string) => {
        const args = ['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', nobodyCache, '-q'];
        const child = spawn(
          'setpriv',
          ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '--input-type=module', '-e',
            `import { main } from './src/cli/main.ts'; main(${JSON.stringify(args)}).then((c) => process.exit(c));`],
          { cwd: projectRoot, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch }, stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += String(d)));
        return new Promise<{ status: number | null; stderr: string }>((done) => child.on('close', (status) => done({ status, stderr })));
      };
      // Checked first: as that user, the module cache really cannot be written to.
      const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'touch', join(prefix, 'gopath', 'pkg', 'mod', 'example.com', 'm@v1.0.0', 'x')], { encoding: 'utf8' });
      expect(probe.stderr).toContain('Permission denied');
      const v2 = await asNobody(readable(lockV2()));
      expect(v2.stderr).toBe('');
      expect(v2.status).toBe(0);
      expectV2(prefix);
      expectUserState(prefix);
      const v3 = await asNobody(readable(lockV3()));
      expect(v3.stderr).toBe('');
      expect(v3.status).toBe(0);
      expect(readFileSync(join(prefix, 'go', 'VERSION'), 'utf8')).toMatch(/^go1\.22\.6/);
      expectUserState(prefix);
      expect((await verify(prefix, lockV3())).code).toBe(0);
    } finally {
      spawnSync('chmod', ['-R', 'u+w', scratch]);
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  /** CC / CXX / GOROOT after sourcing the prefix's activation in bash with CC=cc-of-the-user. */
  const activatedCc = (prefix: string) => {
    const r = spawnSync('bash', ['--noprofile', '--norc', '-c', `source '${prefix}/etc/conda/activate.d/go.sh' && printf '%s|%s|%s' "$CC" "\${CXX-unset}" "$GOROOT"`], {
      env: { PATH: '/usr/bin:/bin', CC: 'cc-of-the-user' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    return r.stdout;
  };

  it.skipIf(spawnSync('bash', ['-c', 'true']).status !== 0)('a conda-only change rewrites the Go activation: a compiler package added sets CC/CXX, removed gives the user\'s back', async () => {
    const prefix = join(dir, `env-${seq++}`);
    expect((await install(prefix, lockV3(), '-q')).code).toBe(0);
    expect(activatedCc(prefix)).toBe(`cc-of-the-user|unset|${prefix}/go`);
    const goRequests = server.requestsTo(/\/dl\//).length;
    const goIno = statSync(join(prefix, 'go', 'bin', 'go')).ino;

    // Only conda packages change (gcc_linux-64 added; same Go pin): the toolchain stays, the scripts change.
    const added = await install(prefix, lockV4());
    expect(added.code).toBe(0);
    expect(added.stderr).toContain('+ gcc_linux-64-12.3.0-h0_0');
    expect(activatedCc(prefix)).toBe(`${prefix}/bin/x86_64-conda-linux-gnu-cc|${prefix}/bin/x86_64-conda-linux-gnu-c++|${prefix}/go`);
    expect(statSync(join(prefix, 'go', 'bin', 'go')).ino).toBe(goIno);
    expect(server.requestsTo(/\/dl\//).length).toBe(goRequests);
    expect((await verify(prefix, lockV4())).code).toBe(0);

    // A Go change with the compiler package kept (it is not in the update's stage): CC stays.
    expect((await install(prefix, lockV5(), '-q')).code).toBe(0);
    expect(readFileSync(join(prefix, 'go', 'VERSION'), 'utf8')).toMatch(/^go1\.22\.5/);
    expect(activatedCc(prefix)).toBe(`${prefix}/bin/x86_64-conda-linux-gnu-cc|${prefix}/bin/x86_64-conda-linux-gnu-c++|${prefix}/go`);

    // The compiler package removed again: the user's CC is left alone.
    const removed = await install(prefix, lockV2());
    expect(removed.code).toBe(0);
    expect(removed.stderr).toContain('- gcc_linux-64-12.3.0-h0_0');
    expect(activatedCc(prefix)).toBe(`cc-of-the-user|unset|${prefix}/go`);
    expect((await verify(prefix, lockV2())).code).toBe(0);
  });
});

/** Run the CLI in a child process that SIGKILLs itself at `point` of the transaction. */
const installKilledAt = (prefix: string, lockfile: string, point: string) =>
  runCliKilledAt(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'linux-64', '--cache-dir', cache(), '-q'], point);

describe('kill -9 during an update', () => {
  it.each([
    ['prepared', false],
    ['committed', true],
    ['remove:2', true],
    ['move:1', true],
  ])('killed at %s: the next install completes it, user state kept, verify passes', async (point, committed) => {
    const prefix = await prefixAtV1();
    const killed = await installKilledAt(prefix, lockV2(), point);
    expect(killed.stderr).not.toContain('error');
    expect(killed.signal).toBe('SIGKILL');
    if (!committed) {
      // Killed before the commit point: the prefix is exactly the old environment.
      expect((await verify(prefix, lockV1())).code).toBe(0);
    }
    expect(existsSync(join(prefix, 'conda-meta', '.cgl-transaction.json'))).toBe(committed);
    const again = await install(prefix, lockV2());
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(committed ? 'finished the interrupted update' : 'rolled back an update');
    expectV2(prefix);
    expectUserState(prefix);
    const v = await verify(prefix, lockV2());
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);
  });

  it('killed while swapping the Go toolchain: the next install completes it', async () => {
    const prefix = await prefixAtV1();
    expect((await install(prefix, lockV2(), '-q')).code).toBe(0);
    const killed = await installKilledAt(prefix, lockV3(), 'move-tree');
    expect(killed.signal).toBe('SIGKILL');
    expect((await install(prefix, lockV3(), '-q')).code).toBe(0);
    expect(readFileSync(join(prefix, 'go', 'VERSION'), 'utf8')).toMatch(/^go1\.22\.6/);
    expectUserState(prefix);
    expect((await verify(prefix, lockV3())).code).toBe(0);
  });
});
