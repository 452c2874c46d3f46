/**
 * Mach-O files (macOS executables, dylibs, bundles) among the files prefix replacement rewrote, and
 * their ad-hoc re-signing.
 *
 * On Apple silicon the kernel kills an arm64 binary whose code signature does not match its bytes
 * ("Code Signature Invalid"); rewriting the placeholder inside a signed binary breaks the
 * signature. As conda, micromamba and rattler do, every rewritten Mach-O file of an osx-arm64
 * install (and any rewritten Mach-O with an arm64 slice) is re-signed ad hoc: `codesign -s - -f FILE`.
 *
 * Where `codesign` comes from: the first `codesign` on PATH (on macOS, /usr/bin/codesign is part of
 * the OS). Without one:
 * - on a macOS host: the package fails (E_MACHO_SIGN), nothing is installed;
 * - on another host (a cross install from Linux, whose binaries cannot run here anyway): one warning
 *   names the files that must be re-signed on the Mac before they run (docs/install.md).
 * We do not write signatures ourselves.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InstallError } from '../errors.js';

export const CPU_TYPE_X86_64 = 0x01000007;
export const CPU_TYPE_ARM64 = 0x0100000c;
const LC_CODE_SIGNATURE = 0x1d;

export interface MachOSlice {
  cputype: number;
  bits: 32 | 64;
  littleEndian: boolean;
  /** Offset of the slice's mach header in the file (0 for a thin file). */
  offset: number;
  /** Whether the slice has an LC_CODE_SIGNATURE load command. */
  signed: boolean;
}

export interface MachOInfo {
  kind: 'thin' | 'fat' | 'fat64';
  slices: MachOSlice[];
}

/** A thin header at `off`, or undefined. */
function thinAt(data: Buffer, off: number): MachOSlice | undefined {
  if (off < 0 || off + 28 > data.length) return undefined;
  const be = data.readUInt32BE(off);
  let bits: 32 | 64;
  let littleEndian: boolean;
  if (be === 0xfeedface) [bits, littleEndian] = [32, false];
  else if (be === 0xfeedfacf) [bits, littleEndian] = [64, false];
  else if (be === 0xcefaedfe) [bits, littleEndian] = [32, true];
  else if (be === 0xcffaedfe) [bits, littleEndian] = [64, true];
  else return undefined;
  const u32 = (o: number) => (littleEndian ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const cputype = u32(off + 4);
  const ncmds = u32(off + 16);
  let p = off + (bits === 64 ? 32 : 28);
  let signed = false;
  for (let i = 0; i < ncmds && p + 8 <= data.length; i++) {
    const cmd = u32(p);
    const size = u32(p + 4);
    if (cmd === LC_CODE_SIGNATURE) signed = true;
    if (size < 8) break;
    p += size;
  }
  return { cputype, bits, littleEndian, offset: off, signed };
}

/**
 * The Mach-O structure of `data` (only its first bytes and the headers are read), or undefined when
 * it is not a Mach-O file. 0xcafebabe is also a Java class file's magic: a fat header is only
 * accepted with 1..64 architectures whose slices lie inside the file and are Mach-O themselves.
 */
export function machOInfo(data: Buffer): MachOInfo | undefined {
  if (data.length < 8) return undefined;
  const thin = thinAt(data, 0);
  if (thin) return { kind: 'thin', slices: [thin] };
  const magic = data.readUInt32BE(0);
  const fat = magic === 0xcafebabe || magic === 0xbebafeca;
  const fat64 = magic === 0xcafebabf || magic === 0xbfbafeca;
  if (!fat && !fat64) return undefined;
  const le = magic === 0xbebafeca || magic === 0xbfbafeca;
  const u32 = (o: number) => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  const nfat = u32(4);
  if (nfat < 1 || nfat > 64) return undefined;
  const entry = fat64 ? 32 : 20;
  if (8 + nfat * entry > data.length) return undefined;
  const slices: MachOSlice[] = [];
  for (let i = 0; i < nfat; i++) {
    const e = 8 + i * entry;
    const offset = fat64 ? Number((le ? data.readBigUInt64LE(e + 8) : data.readBigUInt64BE(e + 8))) : u32(e + 8);
    const slice = thinAt(data, offset);
    if (!slice) return undefined;
    slices.push(slice);
  }
  return { kind: fat64 ? 'fat64' : 'fat', slices };
}

/** Whether a rewritten file must be re-signed for `platform`: a Mach-O for osx-arm64, or one with an arm64 slice. */
export function needsResign(data: Buffer, platform: string): boolean {
  const info = machOInfo(data);
  if (!info) return false;
  return platform === 'osx-arm64' || info.slices.some((s) => s.cputype === CPU_TYPE_ARM64);
}

/** The first executable `codesign` on PATH, or undefined. */
export function findCodesign(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, 'codesign');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface Resigner {
  /** Re-sign `file` (absolute) ad hoc; `rel` and `dist` name it in messages. */
  sign(file: string, rel: string, dist: string): Promise<void>;
}

/** `codesign -s - -f FILE` with the given binary. */
export function codesignResigner(codesign: string): Resigner {
  return {
    sign: (file, rel, dist) =>
      new Promise((resolve, reject) => {
        execFile(codesign, ['-s', '-', '-f', file], { encoding: 'utf8' }, (err, _stdout, stderr) => {
          if (!err) return resolve();
          reject(
            new InstallError(
              `${dist}: ${rel} is a Mach-O binary whose prefix was rewritten, and re-signing it ad hoc failed (${codesign} -s - -f: ${
                String(stderr).trim() || err.message
              }); it would be killed by macOS. Nothing was installed`,
              { code: 'E_MACHO_SIGN', cause: err },
            ),
          );
        });
      }),
  };
}

/**
 * What to do with rewritten Mach-O files on this host: `codesign` when found. Without one the package
 * fails (Apple silicon would kill the binary), unless `allowUnsigned` (CLI `--allow-unsigned`, for a
 * prefix built elsewhere and re-signed on the Mac): then the files are collected for one warning
 * (`unsigned` on the returned object).
 */
export function hostResigner(
  opts: { hostPlatform?: NodeJS.Platform; env?: NodeJS.ProcessEnv; allowUnsigned?: boolean } = {},
): Resigner & { unsigned: string[] } {
  const codesign = findCodesign(opts.env);
  const onMac = (opts.hostPlatform ?? process.platform) === 'darwin';
  const signer = codesign ? codesignResigner(codesign) : undefined;
  const unsigned: string[] = [];
  return {
    unsigned,
    async sign(file, rel, dist) {
      if (signer) return signer.sign(file, rel, dist);
      if (opts.allowUnsigned) {
        unsigned.push(`${dist}: ${rel}`);
        return;
      }
      const fix = onMac
        ? 'install the Xcode command line tools (xcode-select --install) or put /usr/bin on PATH'
        : 'install on the Mac, put a codesign on PATH, or pass --allow-unsigned and re-sign on the Mac (codesign -s - -f FILE)';
      throw new InstallError(
        `${dist}: ${rel} is a Mach-O binary whose prefix was rewritten and must be re-signed, but no codesign was found on PATH ` +
          `(macOS on Apple silicon kills it unsigned); ${fix}. Nothing was installed`,
        { code: 'E_MACHO_SIGN' },
      );
    },
  };
}

/** The warning for files a cross install could not re-sign. */
export function unsignedWarning(unsigned: readonly string[]): string {
  const shown = unsigned.slice(0, 5).join(', ') + (unsigned.length > 5 ? `, … (${unsigned.length} in all)` : '');
  return (
    `${unsigned.length} Mach-O file(s) had their prefix rewritten and were NOT re-signed (no codesign on this host, --allow-unsigned): ${shown}. ` +
    `macOS on Apple silicon kills them until they are re-signed on the Mac (codesign -s - -f FILE; verify then reports them as modified)`
  );
}
