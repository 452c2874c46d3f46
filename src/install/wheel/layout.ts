/**
 * Where a wheel's parts go in a conda prefix (the install scheme, sysconfig's `posix_prefix` /
 * `nt` as conda's python uses them):
 *
 * | wheel part             | posix prefix                               | windows prefix            |
 * |------------------------|--------------------------------------------|---------------------------|
 * | root, purelib, platlib | lib/pythonX.Y/site-packages (CEP-17 path)  | Lib/site-packages         |
 * | `.data/scripts`        | bin                                        | Scripts                   |
 * | `.data/headers`        | include/pythonX.Y/<name>                   | Include/<name>            |
 * | `.data/data`           | the prefix itself                          | the prefix itself         |
 *
 * purelib and platlib are the same directory in a conda prefix, so `Root-Is-Purelib` changes
 * nothing about where files land (it is still read and checked).
 */
import { isWindowsPlatform } from '../prefix-replace.js';
import { pythonMajorMinor, scriptsDir, sitePackagesDir, type PythonTarget } from '../noarch-python.js';

export interface WheelTarget {
  /** conda platform of the prefix (linux-64, osx-arm64, win-64, ...). */
  platform: string;
  /** The prefix's python: X.Y and, for CEP-17 pythons (free-threaded 3.13t), its site-packages path. */
  python: PythonTarget;
  /** The FINAL prefix path (shebangs name it even while files are written into a staging dir). */
  prefix: string;
}

export interface WheelLayout {
  /** All paths relative to the prefix, forward slashes. */
  sitePackages: string;
  scripts: string;
  /** Headers of distribution `name`. */
  headers(name: string): string;
  data: string;
  /** The interpreter entry points and `#!python` scripts run, as an absolute path. */
  pythonExe: string;
}

/** `lib/python3.13t/site-packages` → `python3.13t`; the include dir follows the same ABI name. */
function pythonDirName(python: PythonTarget, sitePackages: string): string {
  const m = /^lib\/(python[^/]+)\/site-packages$/.exec(sitePackages);
  return m ? m[1]! : `python${pythonMajorMinor(python.version)}`;
}

export function wheelLayout(target: WheelTarget): WheelLayout {
  const { platform, python, prefix } = target;
  const sitePackages = sitePackagesDir(python, platform);
  const win = isWindowsPlatform(platform);
  const pyDir = pythonDirName(python, sitePackages);
  return {
    sitePackages,
    scripts: scriptsDir(platform),
    headers: (name) => (win ? `Include/${name}` : `include/${pyDir}/${name}`),
    data: '',
    pythonExe: win ? `${prefix.replace(/[\\/]+$/, '')}\\python.exe` : `${prefix.replace(/\/+$/, '')}/bin/python`,
  };
}
