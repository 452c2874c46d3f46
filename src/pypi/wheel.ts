/**
 * Wheel file names (PEP 427 / binary distribution format) and compatibility tags (PEP 425, PEP 600
 * manylinux_2_X with the legacy manylinux1/2010/2014 aliases, macOS, Windows, abi3).
 *
 * Supported tags are computed for a *target* (the conda solution's interpreter on the lock
 * platform, with its virtual packages), never from this machine.
 */
import { InputError } from '../errors.js';
import { canonicalName } from './name.js';
import { Pep440Version } from './version.js';

export class InvalidWheelFilename extends InputError {
  constructor(filename: string, why: string) {
    super(`invalid wheel file name '${filename}': ${why}`, { code: 'E_PYPI_WHEEL_NAME' });
  }
}

export interface Tag {
  interpreter: string;
  abi: string;
  platform: string;
}

export function tagString(t: Tag): string {
  return `${t.interpreter}-${t.abi}-${t.platform}`;
}

export interface WheelFilename {
  filename: string;
  /** PEP 503-normalised distribution name. */
  name: string;
  version: Pep440Version;
  /** `[number, rest]`, or undefined without a build tag. */
  build?: [number, string];
  /** Every tag of the (possibly compressed) tag set, as `py3-none-any` strings. */
  tags: string[];
}

const TAG_PART = /^[A-Za-z0-9_]+$/;
const INTERPRETER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseWheelFilename(filename: string): WheelFilename {
  if (!filename.endsWith('.whl')) throw new InvalidWheelFilename(filename, 'does not end in .whl');
  const stem = filename.slice(0, -4);
  const parts = stem.split('-');
  if (parts.length !== 5 && parts.length !== 6) throw new InvalidWheelFilename(filename, 'expected name-version[-build]-python-abi-platform');
  const rawName = parts[0]!;
  if (rawName === '' || !/^[\p{L}\p{N}._]+$/u.test(rawName) || rawName.includes('__')) {
    throw new InvalidWheelFilename(filename, `invalid project name '${rawName}'`);
  }
  const version = Pep440Version.tryParse(parts[1]!);
  if (!version) throw new InvalidWheelFilename(filename, `invalid version '${parts[1]}'`);
  let build: [number, string] | undefined;
  if (parts.length === 6) {
    const m = /^([0-9]+)(.*)$/.exec(parts[2]!);
    if (!m) throw new InvalidWheelFilename(filename, `build tag '${parts[2]}' must start with a digit`);
    build = [Number(m[1]), m[2]!];
  }
  const [py, abi, plat] = parts.slice(-3) as [string, string, string];
  const tags: string[] = [];
  for (const i of py.split('.')) {
    if (!INTERPRETER.test(i)) throw new InvalidWheelFilename(filename, `invalid python tag '${py}'`);
    for (const a of abi.split('.')) {
      if (!TAG_PART.test(a)) throw new InvalidWheelFilename(filename, `invalid abi tag '${abi}'`);
      for (const p of plat.split('.')) {
        if (!TAG_PART.test(p)) throw new InvalidWheelFilename(filename, `invalid platform tag '${plat}'`);
        tags.push(`${i.toLowerCase()}-${a.toLowerCase()}-${p.toLowerCase()}`);
      }
    }
  }
  const out: WheelFilename = { filename, name: canonicalName(rawName), version, tags };
  if (build) out.build = build;
  return out;
}

/** An sdist (`name-1.0.tar.gz` / `.zip`): recognised only to say sdists are not used. */
export function isSdistFilename(filename: string): boolean {
  return /\.(tar\.gz|zip|tar\.bz2|tar\.xz|tgz|tar)$/i.test(filename);
}

// ---------------------------------------------------------------------------------------------
// Supported tags for a target

export interface TagTarget {
  /** `cpython` or `pypy` (markers' implementation_name). */
  implementation: 'cpython' | 'pypy';
  /** Python [major, minor]. */
  python: [number, number];
  /** Free-threaded CPython build (abi `cp313t`, no abi3). */
  freeThreaded?: boolean;
  /** Platform tags, best first (from `platformTags`). */
  platforms: string[];
}

/** macOS binary formats for an architecture on one OS version (packaging's `_mac_binary_formats`). */
export function macBinaryFormats(version: [number, number], arch: string): string[] {
  let formats = [arch];
  if (arch === 'x86_64') {
    if (version[0] === 10 && version[1] < 4) return [];
    formats.push('intel', 'fat64', 'fat3');
  } else if (arch === 'i386') {
    if (version[0] === 10 && version[1] < 4) return [];
    formats.push('intel', 'fat3', 'fat');
  } else if (arch === 'ppc64') {
    if (version[0] > 10 || (version[0] === 10 && (version[1] > 5 || version[1] < 4))) return [];
    formats.push('fat64');
  } else if (arch === 'ppc') {
    if (version[0] > 10 || (version[0] === 10 && version[1] > 6)) return [];
    formats.push('fat3', 'fat');
  }
  if (arch === 'arm64' || arch === 'x86_64') formats.push('universal2');
  if (['x86_64', 'i386', 'intel', 'ppc', 'ppc64', 'fat'].includes(arch)) formats.push('universal');
  formats = formats.filter((f, i) => formats.indexOf(f) === i);
  return formats;
}

/** macosx_X_Y_FORMAT tags for a deployment target, newest OS first (packaging's `mac_platforms`). */
export function macPlatforms(version: [number, number], arch: string): string[] {
  const out: string[] = [];
  const push = (major: number, minor: number) => {
    for (const f of macBinaryFormats([major, minor], arch)) out.push(`macosx_${major}_${minor}_${f}`);
  };
  if (version[0] === 10 && version[1] < 16) {
    for (let minor = version[1]; minor >= 0; minor--) push(10, minor);
    return out;
  }
  // macOS 11+: one tag per major version (minor 0); x86_64 also takes every 10.x wheel.
  for (let major = version[0]; major >= 11; major--) push(major, 0);
  if (arch === 'x86_64') {
    for (let minor = 16; minor >= 4; minor--) push(10, minor);
  } else if (arch === 'arm64') {
    // arm64 Macs run universal2 wheels built for older deployment targets.
    for (let minor = 16; minor >= 4; minor--) out.push(`macosx_10_${minor}_universal2`);
  }
  return out;
}

const LEGACY_MANYLINUX: Record<string, string> = { '2_17': 'manylinux2014', '2_12': 'manylinux2010', '2_5': 'manylinux1' };

/**
 * manylinux tags for a glibc version and architecture, newest first, each followed by its legacy
 * alias (manylinux2014 = 2_17, manylinux2010 = 2_12, manylinux1 = 2_5; the last two only on
 * x86_64/i686). Never the non-portable `linux_<arch>`.
 */
export function manylinuxPlatforms(glibc: [number, number], arch: string): string[] {
  const out: string[] = [];
  const [major, maxMinor] = glibc;
  if (major !== 2) return out;
  // manylinux_2_17 is the oldest for the architectures manylinux2014 introduced.
  const minMinor = arch === 'x86_64' || arch === 'i686' ? 5 : 17;
  for (let minor = maxMinor; minor >= minMinor; minor--) {
    out.push(`manylinux_2_${minor}_${arch}`);
    const legacy = LEGACY_MANYLINUX[`2_${minor}`];
    if (legacy && (legacy === 'manylinux2014' || arch === 'x86_64' || arch === 'i686')) out.push(`${legacy}_${arch}`);
  }
  return out;
}

export interface PlatformFacts {
  /** conda platform, e.g. linux-64. */
  platform: string;
  /** __glibc version (linux). */
  glibc?: [number, number];
  /** __osx version (macOS). */
  osx?: [number, number];
}

const LINUX_ARCH: Record<string, string> = { 'linux-64': 'x86_64', 'linux-aarch64': 'aarch64', 'linux-ppc64le': 'ppc64le', 'linux-s390x': 's390x', 'linux-32': 'i686' };

/** Platform tags for a conda platform + virtual packages, best first. */
export function platformTags(f: PlatformFacts): string[] {
  if (f.platform.startsWith('linux-')) {
    const arch = LINUX_ARCH[f.platform];
    if (!arch) return [];
    return manylinuxPlatforms(f.glibc ?? [2, 17], arch);
  }
  if (f.platform === 'osx-arm64') return macPlatforms(f.osx ?? [11, 0], 'arm64');
  if (f.platform === 'osx-64') return macPlatforms(f.osx ?? [10, 15], 'x86_64');
  if (f.platform === 'win-64') return ['win_amd64'];
  if (f.platform === 'win-arm64') return ['win_arm64'];
  if (f.platform === 'win-32') return ['win32'];
  return [];
}

/**
 * Every supported tag for the target, best first (packaging's `sys_tags` order:
 * cpXY-cpXY-plat, cpXY-abi3-plat, cpXY-none-plat, older cp3x-abi3-plat, then pyXY/py3 with
 * none-plat, then cpXY-none-any and pyXY/py3-none-any).
 */
export function supportedTags(t: TagTarget): string[] {
  const [maj, min] = t.python;
  const out: string[] = [];
  const plats = t.platforms;
  if (t.implementation === 'cpython') {
    const cp = `cp${maj}${min}`;
    const abi = t.freeThreaded ? `${cp}t` : cp;
    for (const p of plats) out.push(`${cp}-${abi}-${p}`);
    if (!t.freeThreaded) for (const p of plats) out.push(`${cp}-abi3-${p}`);
    for (const p of plats) out.push(`${cp}-none-${p}`);
    if (!t.freeThreaded && maj === 3) {
      for (let m = min - 1; m >= 2; m--) for (const p of plats) out.push(`cp3${m}-abi3-${p}`);
    }
  } else {
    const pp = `pp${maj}${min}`;
    const abi = `pypy${maj}${min}_pp73`;
    for (const p of plats) out.push(`${pp}-${abi}-${p}`);
    for (const p of plats) out.push(`${pp}-none-${p}`);
  }
  const pys = [`py${maj}${min}`, `py${maj}`];
  for (let m = min - 1; m >= 0; m--) pys.push(`py${maj}${m}`);
  for (const py of pys) for (const p of plats) out.push(`${py}-none-${p}`);
  out.push(`${t.implementation === 'cpython' ? 'cp' : 'pp'}${maj}${min}-none-any`);
  for (const py of pys) out.push(`${py}-none-any`);
  return [...new Set(out)];
}

/** Index of tags for ranking: lower is better; undefined = not supported. */
export class TagRanking {
  private readonly rank = new Map<string, number>();
  constructor(readonly tags: readonly string[]) {
    tags.forEach((t, i) => {
      if (!this.rank.has(t)) this.rank.set(t, i);
    });
  }
  /** Best rank among a wheel's tags, or undefined when none is supported. */
  best(wheelTags: readonly string[]): number | undefined {
    let best: number | undefined;
    for (const t of wheelTags) {
      const r = this.rank.get(t);
      if (r !== undefined && (best === undefined || r < best)) best = r;
    }
    return best;
  }
}
