/**
 * lock → install → verify through the CLI: a real anaconda-defaults zlib package (osx-64, with binary
 * prefix placeholders) served from a local channel, and a Go toolchain archive built here and published
 * in a go.dev/dl-shaped release list.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelServer } from '../support/channel-server.js';
import { fixture, fixturesSkipReason, haveFixtures } from '../support/fixtures.js';
import { fakeGoArchive } from '../support/archives.js';
import { runCli } from './helpers.js';

/** Every file, symlink and directory under `root` with its content hash / link target and mode. */
function treeManifest(root: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const rel = relative(root, full);
      if (skip(rel)) continue;
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out.push(`L ${rel} -> ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.push(`D ${rel}`);
        walk(full);
      } else out.push(`F ${rel} ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
    }
  };
  walk(root);
  return out;
}

describe.skipIf(!haveFixtures)(`install end to end (${haveFixtures ? 'fixtures present' : fixturesSkipReason})`, () => {
  let server: ChannelServer;
  let dir: string;
  let lockfile: string;
  const goVersion = '1.22.5';
  const goFile = `go${goVersion}.darwin-amd64.tar.gz`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cgl-install-'));
    const bytes = await fakeGoArchive(goVersion);
    const releases = [
      {
        version: `go${goVersion}`,
        stable: true,
        files: [
          { filename: goFile, os: 'darwin', arch: 'amd64', version: `go${goVersion}`, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, kind: 'archive' },
        ],
      },
    ];
    server = await new ChannelServer()
      .mount('/defaults', fixture('repodata', 'conda-format-repo'))
      .mount('/defaults', fixture('packages', 'defaults-zlib'))
      .route('/godl/releases.json', JSON.stringify(releases), 'application/json')
      .route(`/dl/${goFile}`, bytes)
      .start();

    writeFileSync(join(dir, 'environment.yml'), `channels:\n  - ${server.url('/defaults')}\ndependencies:\n  - zlib 1.2.11\ngo: "1.22.*"\n`);
    lockfile = join(dir, 'conda-go-lock.yml');
    const r = await runCli([
      'lock', '-f', join(dir, 'environment.yml'), '--lockfile', lockfile, '-p', 'osx-64', '--cache-dir', join(dir, 'cache'),
      '--go-releases-url', server.url('/godl/releases.json'), '-q',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const install = (prefix: string, ...more: string[]) =>
    runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64', '--cache-dir', join(dir, `pkgcache-${more.length}`), '-q', ...more]);

  it('installs the locked zlib and Go toolchain, and verify accepts the prefix', async () => {
    const prefix = join(dir, 'env-a');
    const r = await install(prefix);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The binary placeholder in the dylib was replaced by the real prefix, padded to the same length.
    const dylib = readdirSync(join(prefix, 'lib')).find((f) => /^libz\.1\.2\.11\.dylib$/.test(f))!;
    const bin = readFileSync(join(prefix, 'lib', dylib));
    expect(bin.includes(Buffer.from(prefix))).toBe(true);
    expect(bin.includes(Buffer.from('_h_env_placehold'))).toBe(false);
    expect(existsSync(join(prefix, 'conda-meta', 'zlib-1.2.11-h1de35cc_3.json'))).toBe(true);
    const meta = JSON.parse(readFileSync(join(prefix, 'conda-meta', 'zlib-1.2.11-h1de35cc_3.json'), 'utf8'));
    expect(meta.name).toBe('zlib');
    expect(meta.files).toContain(`lib/${dylib}`);
    expect(readFileSync(join(prefix, 'go', 'VERSION'), 'utf8')).toMatch(/^go1\.22\.5/);
    expect(existsSync(join(prefix, 'etc', 'conda', 'activate.d', 'go.sh'))).toBe(true);

    const v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64']);
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);

    const hook = await runCli(['shell-hook', '-p', prefix]);
    expect(hook.code).toBe(0);
    expect(hook.stdout).toContain(`_cgl_go_prefix='${prefix}'`);
    expect(hook.stdout).toContain('export GOROOT="$_cgl_go_prefix/go"');

    // Re-running on an up-to-date prefix is a no-op.
    const again = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64', '--cache-dir', join(dir, 'pkgcache-0')]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already up to date');

    // A modified file is caught.
    appendFileSync(join(prefix, 'include', 'zlib.h'), '/* tampered */\n');
    const bad = await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('modified-file');
    expect(bad.stdout).toContain('include/zlib.h');
    // The verdict is an error on stderr with the documented code and how to repair the prefix.
    expect(bad.stderr).toContain('error[E_VERIFY_FAILED]');
    expect(bad.stderr).toContain(`conda-go-lock install --repair -p ${prefix} --lockfile ${lockfile} --platform osx-64`);
    // ... and `install --repair` puts the file back (a prefix for another platform too), and a file of
    // the Go toolchain (installed again from its verified archive).
    rmSync(join(prefix, 'go', 'src', 'fmt', 'print.go'));
    const fixed = await runCli(['install', '--repair', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64', '--cache-dir', join(dir, 'pkgcache-0')]);
    expect(fixed.code).toBe(0);
    expect(fixed.stderr).toMatch(/restored include\/zlib\.h \(modified; zlib-/);
    expect(fixed.stderr).toContain('restored go/src/fmt/print.go (missing; go1.22.5)');
    expect(fixed.stderr).toMatch(/repaired 2 files of 2 packages: go1\.22\.5, zlib-/);
    expect(readFileSync(join(prefix, 'go', 'src', 'fmt', 'print.go'), 'utf8')).toBe('package fmt\n');
    expect(readFileSync(join(prefix, 'include', 'zlib.h'), 'utf8')).not.toContain('tampered');
    expect((await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64'])).code).toBe(0);
  });

  it('verify without --platform checks the platform the prefix was installed for', async () => {
    const prefix = join(dir, 'env-recorded');
    expect((await install(prefix)).code).toBe(0);
    // The lockfile has only osx-64; without the recorded platform this would be the host's (an exit 7 on linux).
    const v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix]);
    expect(v.stdout).toContain('(osx-64)');
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);
  });

  it('install without --platform updates an existing prefix for the platform it was installed for', async () => {
    const prefix = join(dir, 'env-keep-platform');
    expect((await install(prefix)).code).toBe(0);
    // The lockfile has only osx-64: with the host's platform this would be an exit 7 on linux.
    const again = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--cache-dir', join(dir, 'pkgcache-0')]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already up to date (osx-64)');
  });

  it('verify of a prefix that does not exist: exit 1 saying so, not a list of missing packages', async () => {
    const v = await runCli(['verify', '--lockfile', lockfile, '-p', join(dir, 'never-installed'), '--platform', 'osx-64']);
    expect(v.code).toBe(1);
    expect(v.stdout).toBe('');
    expect(v.stderr).toContain('error[E_VERIFY_FAILED]');
    expect(v.stderr).toContain('does not exist');
  });

  it('install --no-go skips the toolchain and verify accepts the prefix', async () => {
    const prefix = join(dir, 'env-nogo');
    const r = await install(prefix, '--no-go');
    expect(r.code).toBe(0);
    expect(existsSync(join(prefix, 'go'))).toBe(false);
    const v = await runCli(['verify', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64']);
    expect(v.stdout).toContain('matches');
    expect(v.code).toBe(0);
    const hook = await runCli(['shell-hook', '-p', prefix]);
    expect(hook.code).toBe(8);
    expect(hook.stderr).toContain('installed with --no-go');
  });

  it('two installs give identical trees (history timestamps aside)', async () => {
    const a = join(dir, 'twin-a');
    const b = join(dir, 'twin-b');
    expect((await install(a)).code).toBe(0);
    expect((await install(b, '-j', '2')).code).toBe(0);
    // Contents must match byte for byte once the prefix path itself is taken out: install into the SAME path twice.
    const manifestA = treeManifest(a, (rel) => rel === join('conda-meta', 'history'));
    rmSync(a, { recursive: true });
    expect((await install(a)).code).toBe(0);
    expect(treeManifest(a, (rel) => rel === join('conda-meta', 'history'))).toEqual(manifestA);
    expect(manifestA.length).toBeGreaterThan(10);
  });

  it('a tampered download is rejected before extraction, exit 6, and no prefix is created', async () => {
    server.fault({ path: /zlib-1\.2\.11-h1de35cc_3/, fault: { kind: 'corrupt' } });
    try {
      const prefix = join(dir, 'env-tampered');
      const r = await runCli(['install', '--lockfile', lockfile, '-p', prefix, '--platform', 'osx-64', '--cache-dir', join(dir, 'cache-tampered'), '-q']);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain('zlib');
      expect(existsSync(prefix)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith('env-tampered'))).toEqual([]);
    } finally {
      server.clearFaults();
    }
  });

  it('a locked package the server no longer has (404): exit 5 saying to re-lock', async () => {
    server.fault({ path: /zlib-1\.2\.11-h1de35cc_3/, fault: { kind: 'status', status: 404 } });
    try {
      const r = await runCli(['install', '--lockfile', lockfile, '-p', join(dir, 'env-gone'), '--platform', 'osx-64', '--cache-dir', join(dir, 'cache-gone'), '-q']);
      expect(r.code).toBe(5);
      expect(r.stderr).toContain('error[E_NOT_FOUND]');
      expect(r.stderr).toContain('no longer has');
      expect(r.stderr).toContain('conda-go-lock lock --force');
      expect(existsSync(join(dir, 'env-gone'))).toBe(false);
    } finally {
      server.clearFaults();
    }
  });

  it('asking for a platform the lockfile does not have: exit 7', async () => {
    const r = await runCli(['install', '--lockfile', lockfile, '-p', join(dir, 'env-x'), '--platform', 'win-64']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('win-64');
    expect(existsSync(join(dir, 'env-x'))).toBe(false);
  });
});
