/**
 * Prefix replacement: rewrite the build-time placeholder recorded in a package's paths.json
 * (or info/has_prefix) to the real install prefix.
 *
 * - text mode: every occurrence is replaced; on unix targets a shebang that becomes too long
 *   for the kernel (> 127 bytes) or whose interpreter path contains a space is rewritten to
 *   `#!/usr/bin/env <interpreter-basename> <args>`. On Windows targets the prefix is written with
 *   forward slashes (as conda does, so that backslashes never need escaping in scripts/configs).
 * - binary mode: inside every NUL-terminated C string that contains the placeholder, each
 *   occurrence is replaced and the string is padded with NULs so the file keeps its exact length
 *   and every offset stays valid. A prefix longer than the placeholder cannot fit: InstallError.
 *
 * All functions work on one file's Buffer and return a new Buffer (the input is not modified).
 */
import { InstallError } from '../errors.js';

export type FileMode = 'text' | 'binary';

/** Linux `BINPRM_BUF_SIZE` is 128 including the terminating byte: a longer `#!` line is cut. */
export const MAX_SHEBANG_LENGTH = 127;

/** The classic conda text placeholder used when info/has_prefix gives only a path. */
export const DEFAULT_PLACEHOLDER = '/opt/anaconda1anaconda2anaconda3';

export function isWindowsPlatform(platform: string): boolean {
  return platform.startsWith('win-');
}

/** Replace every occurrence of `needle` in `data` by `replacement`. */
export function replaceAll(data: Buffer, needle: Buffer, replacement: Buffer): Buffer {
  if (needle.length === 0) return Buffer.from(data);
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const i = data.indexOf(needle, pos);
    if (i < 0) break;
    parts.push(data.subarray(pos, i), replacement);
    pos = i + needle.length;
  }
  if (parts.length === 0) return Buffer.from(data);
  parts.push(data.subarray(pos));
  return Buffer.concat(parts);
}

/** The prefix as it is written into text files for a target platform. */
export function textPrefixFor(prefix: string, platform: string): string {
  return isWindowsPlatform(platform) ? prefix.replace(/\\/g, '/') : prefix;
}

/**
 * Text-mode replacement: all occurrences, then the shebang rule on unix targets.
 */
export function replaceTextPrefix(data: Buffer, placeholder: string, prefix: string, platform: string): Buffer {
  const newPrefix = textPrefixFor(prefix, platform);
  let out = replaceAll(data, Buffer.from(placeholder, 'utf8'), Buffer.from(newPrefix, 'utf8'));
  if (!isWindowsPlatform(platform)) out = fixShebang(out, newPrefix);
  return out;
}

/**
 * Rewrite a `#!` line that the kernel cannot run as written: longer than {@link MAX_SHEBANG_LENGTH}
 * bytes, or an interpreter path containing a space. The interpreter becomes
 * `/usr/bin/env <basename>` and the arguments are kept. Other files are returned unchanged.
 *
 * `prefix` (optional) lets an interpreter path that lies inside a prefix containing spaces be
 * recognised as one path.
 */
export function fixShebang(data: Buffer, prefix?: string): Buffer {
  if (data.length < 2 || data[0] !== 0x23 /* # */ || data[1] !== 0x21 /* ! */) return data;
  let eol = data.indexOf(0x0a);
  if (eol < 0) eol = data.length;
  let lineEnd = eol;
  if (lineEnd > 0 && data[lineEnd - 1] === 0x0d) lineEnd--;
  const line = data.subarray(0, lineEnd).toString('utf8');
  const body = line.slice(2).replace(/^[ \t]+/, '');
  let exe: string;
  let rest: string;
  if (prefix && prefix.includes(' ') && body.startsWith(prefix + '/')) {
    const after = body.slice(prefix.length);
    const m = /^(\S*)(.*)$/s.exec(after)!;
    exe = prefix + m[1];
    rest = m[2]!;
  } else {
    const m = /^(\S*)(.*)$/s.exec(body)!;
    exe = m[1]!;
    rest = m[2]!;
  }
  const tooLong = Buffer.byteLength(line, 'utf8') > MAX_SHEBANG_LENGTH;
  if (!tooLong && !exe.includes(' ')) return data;
  if (exe === '') return data;
  const base = exe.slice(exe.lastIndexOf('/') + 1);
  const args = rest.trim();
  const newLine = `#!/usr/bin/env ${base}${args ? ' ' + args : ''}`;
  return Buffer.concat([Buffer.from(newLine, 'utf8'), data.subarray(lineEnd)]);
}

/** Thrown (as an InstallError) when the prefix does not fit in a binary placeholder. */
export const E_PREFIX_TOO_LONG = 'E_PREFIX_TOO_LONG';

/**
 * Binary-mode replacement. Throws `InstallError` (code `E_PREFIX_TOO_LONG`) when the prefix is
 * longer than the placeholder and the file contains the placeholder. `what` names the package
 * and file for the message.
 */
export function replaceBinaryPrefix(
  data: Buffer,
  placeholder: string,
  prefix: string,
  what: { package: string; file: string } = { package: '?', file: '?' },
): Buffer {
  const ph = Buffer.from(placeholder, 'utf8');
  const np = Buffer.from(prefix, 'utf8');
  if (ph.length === 0) return Buffer.from(data);
  let i = data.indexOf(ph);
  if (i < 0) return Buffer.from(data);
  if (np.length > ph.length) {
    throw new InstallError(
      `${what.package}: ${what.file} has a binary prefix placeholder of ${ph.length} bytes but the prefix ` +
        `${JSON.stringify(prefix)} is ${np.length} bytes; install into a shorter prefix path`,
      { code: E_PREFIX_TOO_LONG },
    );
  }
  const out = Buffer.from(data);
  while (i >= 0) {
    let end = out.indexOf(0, i);
    if (end < 0) end = out.length;
    const segment = out.subarray(i, end);
    const replaced = replaceAll(segment, ph, np);
    // replaced is never longer than segment because np.length <= ph.length.
    replaced.copy(out, i);
    out.fill(0, i + replaced.length, end);
    i = out.indexOf(ph, end);
  }
  return out;
}

/**
 * A distlib/pyzzer launcher (`Scripts/foo.exe` made by pip or setuptools at build time): a Windows
 * executable, then a `#!<python>` line, then a zip archive holding `__main__.py`. Returns the three
 * parts, or undefined when `data` is not laid out like that.
 */
export function splitPyzzerEntryPoint(data: Buffer): { launcher: Buffer; shebang: Buffer; archive: Buffer } | undefined {
  const eocd = data.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
  if (eocd < 0 || eocd + 20 > data.length) return undefined;
  const cdSize = data.readUInt32LE(eocd + 12);
  const cdOffset = data.readUInt32LE(eocd + 16);
  const archiveStart = eocd - cdSize - cdOffset;
  if (archiveStart <= 0) return undefined;
  const bang = data.lastIndexOf(Buffer.from('#!', 'latin1'), archiveStart - 1);
  if (bang <= 0 || bang + 2 > archiveStart) return undefined;
  return { launcher: data.subarray(0, bang), shebang: data.subarray(bang, archiveStart), archive: data.subarray(archiveStart) };
}

/**
 * conda's rule for binary files of Windows packages that are pyzzer entry points: only the `#!` line
 * between the launcher and the zip is rewritten (its length may change; the zip's offsets are
 * relative to its own start, so it stays valid). NUL padding inside the launcher would shift the
 * zip's first local header and break the .exe. Returns undefined when `data` is no such launcher.
 */
export function replacePyzzerShebang(data: Buffer, placeholder: string, prefix: string): Buffer | undefined {
  const parts = splitPyzzerEntryPoint(data);
  if (!parts) return undefined;
  const shebang = replaceAll(parts.shebang, Buffer.from(placeholder, 'utf8'), Buffer.from(prefix, 'utf8'));
  return Buffer.concat([parts.launcher, shebang, parts.archive]);
}

export interface PrefixReplacement {
  placeholder: string;
  mode: FileMode;
}

/** Apply the replacement a paths.json entry asks for. */
export function applyPrefixReplacement(
  data: Buffer,
  repl: PrefixReplacement,
  prefix: string,
  platform: string,
  what: { package: string; file: string },
): Buffer {
  if (repl.mode === 'binary' && isWindowsPlatform(platform)) {
    const pyzzer = replacePyzzerShebang(data, repl.placeholder, prefix);
    if (pyzzer) return pyzzer;
  }
  return repl.mode === 'binary'
    ? replaceBinaryPrefix(data, repl.placeholder, prefix, what)
    : replaceTextPrefix(data, repl.placeholder, prefix, platform);
}
