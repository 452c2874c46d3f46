/**
 * Windows pyzzer/distlib entry points (`Scripts/foo.exe` = launcher + `#!python` line + zip) with a
 * binary prefix placeholder: conda rewrites only the `#!` line and keeps the zip intact.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPrefixReplacement, splitPyzzerEntryPoint } from '../../src/install/prefix-replace.js';
import { writeZip } from '../support/archives.js';

const PH = 'C:\\b\\abs_1\\_h_env_placehold_placehold_placehold_placehold_placehold_placehold';
let dir: string;
let zip: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cgl-pyzzer-'));
  await writeZip(join(dir, 'main.zip'), [{ name: '__main__.py', content: 'import sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n' }]);
  zip = await readFile(join(dir, 'main.zip'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function launcher(): Buffer {
  // "MZ", some code with NULs, as a real launcher has.
  return Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00launcher code\x00\x00\x00', 'latin1'), Buffer.alloc(64, 0xcc)]);
}

describe('pyzzer entry points in win-* binary files', () => {
  it('only the #! line is rewritten; the launcher and the zip are kept byte for byte', () => {
    const exe = Buffer.concat([launcher(), Buffer.from(`#!${PH}\\python.exe\r\n`, 'latin1'), zip]);
    const out = applyPrefixReplacement(exe, { placeholder: PH, mode: 'binary' }, 'C:\\Users\\me\\env', 'win-64', { package: 'pip-1-0', file: 'Scripts/pip.exe' });
    const parts = splitPyzzerEntryPoint(out)!;
    expect(parts).toBeDefined();
    expect(parts.launcher.equals(launcher())).toBe(true);
    expect(parts.shebang.toString('latin1')).toBe('#!C:\\Users\\me\\env\\python.exe\r\n');
    expect(parts.archive.equals(zip)).toBe(true);
    expect(out.length).toBe(exe.length - (PH.length - 'C:\\Users\\me\\env'.length));
  });

  it('other binary files of a win-* package keep the NUL-padded in-place replacement', () => {
    const data = Buffer.from(`abc\x00${PH}\\Library\\share\x00tail`, 'latin1');
    const out = applyPrefixReplacement(data, { placeholder: PH, mode: 'binary' }, 'C:\\e', 'win-64', { package: 'x', file: 'y.dll' });
    expect(out.length).toBe(data.length);
    expect(out.toString('latin1')).toBe(`abc\x00C:\\e\\Library\\share${'\x00'.repeat(PH.length - 4)}\x00tail`);
  });

  it('on unix targets a file that merely contains a zip is replaced in place as before', () => {
    const ph = '/opt/placeholder_placeholder_placeholder';
    const data = Buffer.concat([Buffer.from(`\x00${ph}/bin/python\n\x00`, 'latin1'), Buffer.from('#!x\n'), zip]);
    const out = applyPrefixReplacement(data, { placeholder: ph, mode: 'binary' }, '/e', 'linux-64', { package: 'x', file: 'y' });
    expect(out.length).toBe(data.length);
  });
});
