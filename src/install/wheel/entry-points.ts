/**
 * Console and GUI entry points of a wheel (`[console_scripts]` / `[gui_scripts]` in
 * entry_points.txt) become scripts that import the object and call it with the prefix's python.
 *
 * This is a seam: `EntryPointWriter` decides which files an entry point becomes. The default
 * writes, on POSIX prefixes, `bin/<name>` with `#!<prefix>/bin/python` (rewritten to
 * `#!/usr/bin/env python` when too long or containing spaces, as conda does); on Windows prefixes
 * `Scripts/<name>-script.py` (`-script.pyw` for GUI scripts) with the `.cmd` and POSIX sh launchers
 * of windows-entry-points.ts, the same files noarch: python entry points get.
 */
import { InstallError } from '../../errors.js';
import { entryPointBody, parseEntryPoint, type EntryPoint } from '../noarch-python.js';
import { fixShebang, isWindowsPlatform } from '../prefix-replace.js';
import { windowsEntryPointFiles } from '../windows-entry-points.js';
import type { WheelLayout, WheelTarget } from './layout.js';

export type EntryPointKind = 'console' | 'gui';

export interface WheelEntryPoint extends EntryPoint {
  kind: EntryPointKind;
}

export interface GeneratedFile {
  /** Relative to the prefix, forward slashes. */
  path: string;
  content: Buffer;
  mode: number;
}

export interface EntryPointWriter {
  files(ep: WheelEntryPoint, target: WheelTarget, layout: WheelLayout): GeneratedFile[];
}

/** Parse one entry_points.txt line; the name must be a plain file name (no separators, no `..`). */
export function parseWheelEntryPoint(name: string, value: string, kind: EntryPointKind, wheel: string): WheelEntryPoint {
  if (name === '' || name === '.' || name === '..' || /[/\\\0:]/.test(name) || /[\u0000-\u001f]/.test(name)) {
    throw new InstallError(
      `${wheel}: entry point name ${JSON.stringify(name)} is not a plain file name; refusing to install this wheel`,
      { code: 'E_WHEEL_INVALID' },
    );
  }
  const ep = parseEntryPoint(`${name} = ${value}`, wheel);
  return { ...ep, name, kind };
}

export const defaultEntryPointWriter: EntryPointWriter = {
  files(ep, target, layout) {
    if (isWindowsPlatform(target.platform)) {
      return windowsEntryPointFiles(ep, { scripts: layout.scripts, gui: ep.kind === 'gui', origin: 'a wheel entry point' }).map(
        ({ path, content, mode }) => ({ path, content, mode }),
      );
    }
    const body = Buffer.from(entryPointBody(ep, 'a wheel entry point'), 'utf8');
    const shebang = Buffer.from(`#!${layout.pythonExe}\n`, 'utf8');
    return [{ path: `${layout.scripts}/${ep.name}`, content: fixShebang(Buffer.concat([shebang, body]), target.prefix), mode: 0o755 }];
  },
};

/** `#!python` / `#!pythonw` first lines of `.data/scripts` files, pointed at the prefix's python. */
export function rewriteScriptShebang(data: Buffer, target: WheelTarget, layout: WheelLayout): Buffer {
  const m = /^#!python(w?)([ \t][^\r\n]*)?(\r?\n|$)/.exec(data.subarray(0, 256).toString('latin1'));
  if (!m) return data;
  const exe = isWindowsPlatform(target.platform) && m[1] === 'w' ? layout.pythonExe.replace(/python\.exe$/, 'pythonw.exe') : layout.pythonExe;
  const line = Buffer.from(`#!${exe}${m[2] ?? ''}`, 'utf8');
  const out = Buffer.concat([line, data.subarray(m[0].length - m[3]!.length)]);
  return isWindowsPlatform(target.platform) ? out : fixShebang(out, target.prefix);
}
