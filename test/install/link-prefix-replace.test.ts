import { describe, expect, it } from 'vitest';
import { InstallError } from '../../src/errors.js';
import {
  E_PREFIX_TOO_LONG,
  fixShebang,
  MAX_SHEBANG_LENGTH,
  replaceBinaryPrefix,
  replaceTextPrefix,
} from '../../src/install/prefix-replace.js';

const PH = '/opt/anaconda1anaconda2anaconda3';

describe('text mode', () => {
  const cases: Array<{ name: string; input: string; prefix: string; platform: string; expected: string }> = [
    {
      name: 'replaces every occurrence',
      input: `prefix=${PH}\nlibdir=${PH}/lib\nincludedir=${PH}/include ${PH}\n`,
      prefix: '/envs/a',
      platform: 'linux-64',
      expected: 'prefix=/envs/a\nlibdir=/envs/a/lib\nincludedir=/envs/a/include /envs/a\n',
    },
    {
      name: 'no placeholder: unchanged',
      input: 'nothing to see\n',
      prefix: '/envs/a',
      platform: 'linux-64',
      expected: 'nothing to see\n',
    },
    {
      name: 'longer prefix than placeholder is fine in text mode',
      input: `x=${PH}\n`,
      prefix: '/a/very/long/prefix/that/is/much/longer/than/the/placeholder/itself',
      platform: 'osx-64',
      expected: 'x=/a/very/long/prefix/that/is/much/longer/than/the/placeholder/itself\n',
    },
    {
      name: 'windows target: prefix written with forward slashes',
      input: `set P=${PH}\\Library\n`,
      prefix: 'C:\\Users\\me\\envs\\a',
      platform: 'win-64',
      expected: 'set P=C:/Users/me/envs/a\\Library\n',
    },
    {
      name: 'short shebang into the prefix is kept',
      input: `#!${PH}/bin/python3.11 -E\nprint(1)\n`,
      prefix: '/envs/a',
      platform: 'linux-64',
      expected: '#!/envs/a/bin/python3.11 -E\nprint(1)\n',
    },
    {
      name: 'shebang longer than 127 bytes → /usr/bin/env with args kept',
      input: `#!${PH}/bin/python3.11 -E -s\nprint(1)\n`,
      prefix: '/' + 'x'.repeat(130),
      platform: 'linux-64',
      expected: '#!/usr/bin/env python3.11 -E -s\nprint(1)\n',
    },
    {
      name: 'shebang whose interpreter path has a space → /usr/bin/env',
      input: `#!${PH}/bin/perl -w\nprint 1;\n`,
      prefix: '/home/me/my envs/a',
      platform: 'osx-arm64',
      expected: '#!/usr/bin/env perl -w\nprint 1;\n',
    },
    {
      name: 'windows targets never rewrite shebangs',
      input: `#!${PH}/bin/python\n`,
      prefix: 'C:\\' + 'x'.repeat(130),
      platform: 'win-64',
      expected: `#!C:/${'x'.repeat(130)}/bin/python\n`,
    },
  ];
  it.each(cases)('$name', ({ input, prefix, platform, expected }) => {
    expect(replaceTextPrefix(Buffer.from(input), PH, prefix, platform).toString()).toBe(expected);
  });

  it('fixShebang leaves a CRLF line ending in place and a non-shebang file alone', () => {
    const long = '#!/' + 'y'.repeat(MAX_SHEBANG_LENGTH) + '/bin/tool arg\r\nrest\r\n';
    expect(fixShebang(Buffer.from(long)).toString()).toBe('#!/usr/bin/env tool arg\r\nrest\r\n');
    const plain = Buffer.from('# not a shebang ' + 'z'.repeat(200));
    expect(fixShebang(plain).equals(plain)).toBe(true);
  });

  it('a shebang of exactly 127 bytes is kept', () => {
    const exe = '/' + 'p'.repeat(MAX_SHEBANG_LENGTH - 2 - '/bin/sh'.length - 1) + '/bin/sh';
    const line = `#!${exe}`;
    expect(Buffer.byteLength(line)).toBe(MAX_SHEBANG_LENGTH);
    expect(fixShebang(Buffer.from(line + '\n')).toString()).toBe(line + '\n');
    expect(fixShebang(Buffer.from('#!/q' + exe + '\n')).toString()).toBe('#!/usr/bin/env sh\n');
  });
});

describe('binary mode', () => {
  const ph = '/build/_h_env_placehold_placehold_placehold';
  const bin = (...parts: Array<string | number[]>) =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

  it('replaces inside the C string and pads with NULs, keeping the length', () => {
    const input = bin([0x7f, 0x45], `${ph}/lib:${ph}/lib64`, [0], 'tail', [0, 1, 2]);
    const out = replaceBinaryPrefix(input, ph, '/envs/p');
    expect(out.length).toBe(input.length);
    const expected = bin([0x7f, 0x45], '/envs/p/lib:/envs/p/lib64', Array(2 * (ph.length - '/envs/p'.length)).fill(0), [0], 'tail', [0, 1, 2]);
    expect(out.equals(expected)).toBe(true);
    expect(input.includes(Buffer.from(ph))).toBe(true); // input untouched
  });

  it('handles several C strings, text before the placeholder, and a string at the end without NUL', () => {
    const input = bin('RPATH=', ph, [0], 'x', [0], ph, '/share');
    const out = replaceBinaryPrefix(input, ph, '/p');
    expect(out.length).toBe(input.length);
    const pad = Array(ph.length - 2).fill(0);
    expect(out.equals(bin('RPATH=/p', pad, [0], 'x', [0], '/p/share', pad))).toBe(true);
  });

  it('a prefix of exactly the placeholder length fits without padding', () => {
    const p = '/' + 'q'.repeat(ph.length - 1);
    const out = replaceBinaryPrefix(bin(ph, [0]), ph, p);
    expect(out.toString('latin1')).toBe(p + '\0');
  });

  it('a prefix longer than the placeholder is an InstallError naming package and file', () => {
    const long = '/' + 'L'.repeat(ph.length);
    let err: unknown;
    try {
      replaceBinaryPrefix(bin('a', ph, [0]), ph, long, { package: 'zlib-1.2.11-h1de35cc_3', file: 'lib/libz.dylib' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InstallError);
    expect((err as InstallError).code).toBe(E_PREFIX_TOO_LONG);
    expect((err as Error).message).toContain('zlib-1.2.11-h1de35cc_3');
    expect((err as Error).message).toContain('lib/libz.dylib');
  });

  it('a too-long prefix is fine when the file does not contain the placeholder', () => {
    const input = bin('no placeholder here', [0]);
    expect(replaceBinaryPrefix(input, ph, '/' + 'L'.repeat(500)).equals(input)).toBe(true);
  });
});
