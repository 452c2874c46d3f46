/**
 * conda-lock's `virtual-packages.yml` (`--virtual-package-spec`):
 *
 *   subdirs:
 *     linux-64:
 *       packages:
 *         __glibc: "2.17"
 *         __archspec: "1 x86_64_v2"
 *
 * Each entry becomes an override for that platform, merged onto the defaults (see
 * docs/virtual-packages.md for how this differs from conda-lock, which replaces the whole set).
 */
import { readFileSync } from 'node:fs';
import { KNOWN_PLATFORMS, isPlatform, suggestPlatform, type Platform } from '../conda/platform.js';
import { checkOverride, overrideFromValue, type VirtualPackageOverride } from '../conda/virtual-packages.js';
import { InputError } from '../errors.js';
import { Problems, closest, locate, parseYamlSource } from './yaml-source.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse the file's text. Throws `InputError` with file:line for every problem. */
export function parseVirtualPackageSpecFile(text: string, file: string): VirtualPackageOverride[] {
  const src = parseYamlSource(text, file);
  const problems = new Problems(file);
  const data = src.data;
  const out: VirtualPackageOverride[] = [];
  if (!isRecord(data) || !isRecord(data.subdirs)) {
    throw new InputError("a virtual package spec file needs a 'subdirs:' mapping (subdirs: {linux-64: {packages: {__glibc: \"2.17\"}}})", {
      code: 'E_VIRTUAL_SPEC',
      location: locate(src, isRecord(data) && 'subdirs' in data ? ['subdirs'] : []),
    });
  }
  for (const key of Object.keys(data)) {
    if (key !== 'subdirs') problems.add(`unknown key '${key}' (only 'subdirs' is allowed)`, locate(src, [key], { key: true }), 'E_VIRTUAL_SPEC');
  }
  for (const [subdir, body] of Object.entries(data.subdirs)) {
    if (!isPlatform(subdir)) {
      const hint = suggestPlatform(subdir) ?? closest(subdir, KNOWN_PLATFORMS);
      problems.add(
        subdir === 'noarch'
          ? "'noarch' cannot have virtual packages: they describe a target platform"
          : `unknown platform '${subdir}'${hint ? ` (did you mean '${hint}'?)` : ''}. Valid platforms: ${KNOWN_PLATFORMS.join(', ')}`,
        locate(src, ['subdirs', subdir], { key: true }),
        'E_VIRTUAL_SPEC',
      );
      continue;
    }
    if (!isRecord(body) || !isRecord(body.packages)) {
      problems.add(`subdirs.${subdir} must be a mapping with 'packages:'`, locate(src, ['subdirs', subdir]), 'E_VIRTUAL_SPEC');
      continue;
    }
    for (const key of Object.keys(body)) {
      if (key !== 'packages') problems.add(`unknown key '${key}' in subdirs.${subdir} (only 'packages')`, locate(src, ['subdirs', subdir, key], { key: true }), 'E_VIRTUAL_SPEC');
    }
    for (const [name, value] of Object.entries(body.packages)) {
      const path = ['subdirs', subdir, 'packages', name];
      if (value !== null && typeof value !== 'string') {
        problems.add(`${name} must be a version string like "2.17"`, locate(src, path), 'E_VIRTUAL_SPEC');
        continue;
      }
      const o = overrideFromValue(name, value);
      const problem = checkOverride(o);
      if (problem) {
        problems.add(problem, locate(src, path, { key: !name.startsWith('__') }), 'E_VIRTUAL_SPEC');
        continue;
      }
      out.push({ ...o, platforms: [subdir as Platform] });
    }
  }
  problems.throwIfAny();
  return out;
}

/** Read and parse a virtual package spec file. */
export function loadVirtualPackageSpecFile(path: string): VirtualPackageOverride[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read virtual package spec file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, {
      code: 'E_VIRTUAL_SPEC',
      location: { file: path },
      cause: err,
    });
  }
  return parseVirtualPackageSpecFile(text, path);
}
