/**
 * Issue 15: osx-arm64 installs from Linux. A real Mach-O (Debian's Go 1.19: `GOOS=darwin
 * GOARCH=arm64 go build`, which emits an ad-hoc-signed binary) with a prefix placeholder in it is
 * packaged into a loopback channel; `install --platform osx-arm64` rewrites the placeholder and must
 * re-sign exactly the rewritten Mach-O files with `codesign -s - -f` (a fake codesign on PATH records
 * its calls). Mach-O detection is checked on the same real binary and on fat/fat64 wrappers of it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CPU_TYPE_ARM64, CPU_TYPE_X86_64, hostResigner, machOInfo, needsResign } from '../../src/install/macho.js';
import { ChannelServer } from '../support/channel-server.js';
import { writeChannel } from '../support/conda-channel.js';
import { runCli } from './helpers.js';

const GO = '/usr/lib/go-1.19/bin/go';
const haveGo = existsSync(GO);
const PLACEHOLDER = '/opt/cgl_placeholder_placeholder_placeholder_placeholder_placeholder';

/** Build (once per machine: cached under the OS temp dir) a darwin/arm64 binary holding PLACEHOLDER in a NUL-terminated string. */
function darwinArm64Binary(): Buffer {
  const cacheDir = join(tmpdir(), 'cgl-test-macho-go119');
  const out = join(cacheDir, 'hello-arm64');
  if (existsSync(out)) return readFileSync(out);
  mkdirSync(cacheDir, { recursive: true });
  const src = mkdtempSync(join(cacheDir, 'src-'));
  writeFileSync(join(src, 'main.go'), `package main\n\nimport "fmt"\n\nvar prefix = "${PLACEHOLDER}/lib\\x00"\n\nfunc main() { fmt.Println(prefix) }\n`);
  const tmpOut = join(src, 'hello');
  const r = spawnSync(GO, ['build', '-trimpath', '-o', tmpOut, 'main.go'], {
    cwd: src,
    encoding: 'utf8',
    env: { ...process.env, GO111MODULE: 'off', CGO_ENABLED: '0', GOOS: 'darwin', GOARCH: 'arm64' },
  });
  if (r.status !== 0) throw new Error(`go build failed: ${r.stderr}`);
  writeFileSync(out + '.tmp', readFileSync(tmpOut));
  spawnSync('mv', [out + '.tmp', out]);
  rmSync(src, { recursive: true, force: true });
  return readFileSync(out);
}

/** A universal binary of the given thin slices (fat: 32-bit offsets; fat64: 64-bit), slices 16 KiB aligned. */
function fatOf(slices: Buffer[], fat64: boolean): Buffer {
  const entry = fat64 ? 32 : 20;
  const align = 1 << 14;
  let off = align;
  const header = Buffer.alloc(8 + slices.length * entry);
  header.writeUInt32BE(fat64 ? 0xcafebabf : 0xcafebabe, 0);
  header.writeUInt32BE(slices.length, 4);
  const parts: Buffer[] = [];
  slices.forEach((s, i) => {
    const e = 8 + i * entry;
    header.writeUInt32BE(s.readUInt32LE(4), e);
    header.writeUInt32BE(s.readUInt32LE(8), e + 4);
    if (fat64) {
      header.writeBigUInt64BE(BigInt(off), e + 8);
      header.writeBigUInt64BE(BigInt(s.length), e + 16);
      header.writeUInt32BE(14, e + 24);
    } else {
      header.writeUInt32BE(off, e + 8);
      header.writeUInt32BE(s.length, e + 12);
      header.writeUInt32BE(14, e + 16);
    }
    parts.push(s);
    off += Math.ceil(s.length / align) * align;
  });
  const out = Buffer.alloc(off);
  header.copy(out, 0);
  let p = align;
  for (const s of parts) {
    s.copy(out, p);
    p += Math.ceil(s.length / align) * align;
  }
  return out;
}

describe.skipIf(!haveGo)(`Mach-O on osx-arm64 (${haveGo ? 'Debian Go 1.19 present' : `${GO} not found: apt-get install golang-1.19-go`})`, () => {
  let arm64: Buffer;
  let server: ChannelServer;
  let dir: string;
  let bin: string;
  const log = () => join(dir, 'codesign.log');

  beforeAll(async () => {
    arm64 = darwinArm64Binary();
    dir = mkdtempSync(join(tmpdir(), 'cgl-macos-'));
    // A fake codesign: records its arguments; fails when CODESIGN_FAIL is set.
    bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'codesign'), `#!/bin/sh\nprintf '%s\\n' "$*" >> "${log()}"\n[ -z "$CODESIGN_FAIL" ] || { echo "bad signature" >&2; exit 1; }\n`);
    chmodSync(join(bin, 'codesign'), 0o755);
    await writeChannel(join(dir, 'chan'), [
      {
        name: 'hello',
        version: '1.0',
        subdir: 'osx-arm64',
        files: {
          'bin/hello': { content: arm64, mode: 0o755, placeholder: PLACEHOLDER, fileMode: 'binary' },
          // A Mach-O without a placeholder: hard-linked as it is, never re-signed.
          'lib/libplain.dylib': { content: arm64, mode: 0o755 },
          // Rewritten, but not Mach-O: not re-signed.
          'etc/hello.conf': { content: `prefix=${PLACEHOLDER}\n`, placeholder: PLACEHOLDER, fileMode: 'text' },
        },
      },
    ]);
    server = await new ChannelServer().mount('/chan', join(dir, 'chan')).start();
    const env = join(dir, 'environment.yml');
    writeFileSync(env, `channels:\n  - ${server.url('/chan')}\ndependencies:\n  - hello\n`);
    const r = await runCli(['lock', '-f', env, '--lockfile', join(dir, 'lock.yml'), '-p', 'osx-arm64', '--cache-dir', join(dir, 'repocache'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const install = (prefix: string, env: Record<string, string>, quiet = true) =>
    runCli(['install', '--lockfile', join(dir, 'lock.yml'), '-p', prefix, '--platform', 'osx-arm64', '--cache-dir', join(dir, 'pkgcache'), ...(quiet ? ['-q'] : [])], { env });

  it('detects the real Go binary: thin, 64-bit little-endian arm64, ad-hoc signed (LC_CODE_SIGNATURE)', () => {
    expect(machOInfo(arm64)).toEqual({ kind: 'thin', slices: [{ cputype: CPU_TYPE_ARM64, bits: 64, littleEndian: true, offset: 0, signed: true }] });
    expect(needsResign(arm64, 'osx-arm64')).toBe(true);
    // An arm64 slice needs a signature whatever the platform says; not Mach-O never does.
    expect(needsResign(arm64, 'osx-64')).toBe(true);
    expect(needsResign(Buffer.from('\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0', 'latin1'), 'osx-arm64')).toBe(false);
  });

  it('detects fat and fat64 universal binaries and their arm64 slice; a Java class file is not Mach-O', () => {
    // The second slice: the same binary relabelled x86_64 (cputype field), to have two architectures.
    const x86 = Buffer.from(arm64);
    x86.writeUInt32LE(CPU_TYPE_X86_64, 4);
    for (const [fat64, kind] of [[false, 'fat'], [true, 'fat64']] as const) {
      const info = machOInfo(fatOf([x86, arm64], fat64))!;
      expect(info.kind).toBe(kind);
      expect(info.slices.map((s) => [s.cputype, s.offset, s.signed])).toEqual([
        [CPU_TYPE_X86_64, 1 << 14, true],
        [CPU_TYPE_ARM64, (1 << 14) + Math.ceil(arm64.length / (1 << 14)) * (1 << 14), true],
      ]);
      expect(needsResign(fatOf([x86], fat64), 'osx-64')).toBe(false);
      expect(needsResign(fatOf([x86], fat64), 'osx-arm64')).toBe(true);
    }
    // Big-endian thin headers (ppc-era MH_MAGIC / MH_MAGIC_64).
    const be32 = Buffer.alloc(64);
    be32.writeUInt32BE(0xfeedface, 0);
    be32.writeUInt32BE(18, 4);
    expect(machOInfo(be32)).toMatchObject({ kind: 'thin', slices: [{ bits: 32, littleEndian: false, cputype: 18 }] });
    const be64 = Buffer.from(be32);
    be64.writeUInt32BE(0xfeedfacf, 0);
    expect(machOInfo(be64)).toMatchObject({ kind: 'thin', slices: [{ bits: 64, littleEndian: false }] });
    // Java: 0xcafebabe then minor/major version (0x0000 0x0034): "52 architectures" whose offsets are not Mach-O.
    const java = Buffer.alloc(4096);
    java.writeUInt32BE(0xcafebabe, 0);
    java.writeUInt32BE(0x34, 4);
    expect(machOInfo(java)).toBeUndefined();
  });

  it('install re-signs exactly the rewritten Mach-O file (codesign -s - -f), verify passes', async () => {
    const prefix = join(dir, 'env-signed');
    rmSync(log(), { force: true });
    const r = await install(prefix, { PATH: `${bin}:${process.env.PATH}` });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const calls = readFileSync(log(), 'utf8').trim().split('\n');
    expect(calls).toHaveLength(1);
    // Signed where it was written (the staging sibling renamed into place afterwards).
    expect(calls[0]).toMatch(new RegExp(`^-s - -f ${dir}/env-signed\\S*/bin/hello$`));
    const data = readFileSync(join(prefix, 'bin', 'hello'));
    expect(data.indexOf(PLACEHOLDER)).toBe(-1);
    expect(data.indexOf(`${prefix}/lib\0`)).toBeGreaterThan(0);
    expect(data.length).toBe(arm64.length);
    expect((await runCli(['verify', '--lockfile', join(dir, 'lock.yml'), '-p', prefix, '--platform', 'osx-arm64'])).code).toBe(0);
  });

  it('a codesign that fails: the package fails with E_MACHO_SIGN (exit 8) and nothing is installed', async () => {
    const prefix = join(dir, 'env-fail');
    const r = await install(prefix, { PATH: `${bin}:${process.env.PATH}`, CODESIGN_FAIL: '1' });
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('E_MACHO_SIGN');
    expect(r.stderr).toContain('hello-1.0-h0_0: bin/hello is a Mach-O binary whose prefix was rewritten, and re-signing it ad hoc failed');
    expect(r.stderr).toContain('bad signature');
    expect(existsSync(prefix)).toBe(false);
  });

  it('no codesign on a Linux host: E_MACHO_SIGN (exit 8) naming the file and the ways out, nothing installed; --allow-unsigned installs with one warning', async () => {
    const prefix = join(dir, 'env-unsigned');
    const refused = await install(prefix, { PATH: '/usr/bin:/bin' });
    expect(refused.code).toBe(8);
    expect(refused.stderr).toContain('error[E_MACHO_SIGN]: hello-1.0-h0_0: bin/hello is a Mach-O binary whose prefix was rewritten and must be re-signed, but no codesign was found on PATH');
    expect(refused.stderr).toContain('pass --allow-unsigned and re-sign on the Mac');
    expect(existsSync(prefix)).toBe(false);

    const r = await runCli(
      ['install', '--lockfile', join(dir, 'lock.yml'), '-p', prefix, '--platform', 'osx-arm64', '--cache-dir', join(dir, 'pkgcache'), '--allow-unsigned'],
      { env: { PATH: '/usr/bin:/bin' } },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('1 Mach-O file(s) had their prefix rewritten and were NOT re-signed (no codesign on this host, --allow-unsigned): hello-1.0-h0_0: bin/hello');
    expect(existsSync(join(prefix, 'bin', 'hello'))).toBe(true);
  });

  it('no codesign on a macOS host: E_MACHO_SIGN naming the file', async () => {
    const signer = hostResigner({ hostPlatform: 'darwin', env: { PATH: '/nonexistent' } });
    await expect(signer.sign('/x/bin/hello', 'bin/hello', 'hello-1.0-h0_0')).rejects.toMatchObject({
      code: 'E_MACHO_SIGN',
      message: expect.stringContaining('hello-1.0-h0_0: bin/hello is a Mach-O binary whose prefix was rewritten and must be re-signed, but no codesign was found'),
    });
  });
});
