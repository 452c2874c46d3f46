import { describe, expect, it } from 'vitest';
import { goSpecFromGoMod, parseGoMod } from '../../src/spec/gomod.js';
import { parseGoSpec, goSpecMatches } from '../../src/go/releases.js';
import { GoVersion } from '../../src/go/version.js';
import { InputError } from '../../src/errors.js';

const mod = (body: string) => `module example.com/hello\n\n${body}\n`;

describe('parseGoMod + goSpecFromGoMod', () => {
  // go.mod text, expected spec, deciding directive, its line
  const table: Array<[string, string, string, 'go' | 'toolchain', number]> = [
    ['go line without patch', mod('go 1.22'), '1.22.*', 'go', 3],
    ['go line with patch', mod('go 1.21.3'), '>=1.21.3,<1.22', 'go', 3],
    ['go line .0 patch', mod('go 1.22.0'), '>=1.22.0,<1.23', 'go', 3],
    ['go line prerelease', mod('go 1.21rc2'), '>=1.21rc2,<1.22', 'go', 3],
    ['toolchain wins over go', mod('go 1.21\n\ntoolchain go1.22.5'), '==1.22.5', 'toolchain', 5],
    ['toolchain before go', mod('toolchain go1.23.1\ngo 1.22.0'), '==1.23.1', 'toolchain', 3],
    ['toolchain with suffix', mod('go 1.21\ntoolchain go1.21.4+auto'), '==1.21.4', 'toolchain', 4],
    ['toolchain default defers to go', mod('go 1.22.1\ntoolchain default'), '>=1.22.1,<1.23', 'go', 3],
    ['comments everywhere', '// header comment\nmodule example.com/x // trailing\n\n// go 1.10\ngo 1.22 // we need range-over-int\n', '1.22.*', 'go', 5],
    [
      'blocks do not confuse the parser',
      [
        'module example.com/app',
        '',
        'go 1.21.6',
        '',
        'require (',
        '\tgolang.org/x/mod v0.14.0 // indirect',
        '\tgo.example.com/toolchain v1.0.0',
        '\t// go 1.99',
        ')',
        '',
        'replace (',
        '\texample.com/a => ../a',
        '\ttoolchain => go1.99.0',
        ')',
        'godebug (',
        '\tdefault=go1.21',
        ')',
        'require example.com/single v1.0.0',
        'exclude example.com/old v0.1.0',
      ].join('\n'),
      '>=1.21.6,<1.22',
      'go',
      3,
    ],
    ['CRLF and BOM', '\uFEFFmodule m\r\ngo 1.20\r\n', '1.20.*', 'go', 2],
  ];
  it.each(table)('%s', (_name, text, spec, from, line) => {
    const parsed = parseGoMod(text, '/src/go.mod');
    const s = goSpecFromGoMod(parsed);
    expect(s).toEqual({ spec, from, file: '/src/go.mod', line });
    // the spec is one the Go resolver accepts
    expect(() => parseGoSpec(s.spec)).not.toThrow();
  });

  it('reads the module path', () => {
    expect(parseGoMod('module "example.com/quoted"\ngo 1.22').module).toBe('example.com/quoted');
    expect(parseGoMod(mod('go 1.22')).module).toBe('example.com/hello');
  });

  it('the derived specs select the intended releases', () => {
    const v = (s: string) => GoVersion.parse(s);
    const goLine = parseGoSpec(goSpecFromGoMod(parseGoMod('go 1.21.3')).spec);
    expect(goSpecMatches(goLine, v('1.21.3'))).toBe(true);
    expect(goSpecMatches(goLine, v('1.21.13'))).toBe(true);
    expect(goSpecMatches(goLine, v('1.21.2'))).toBe(false);
    expect(goSpecMatches(goLine, v('1.22.0'))).toBe(false);
    const minor = parseGoSpec(goSpecFromGoMod(parseGoMod('go 1.22')).spec);
    expect(goSpecMatches(minor, v('1.22.9'))).toBe(true);
    expect(goSpecMatches(minor, v('1.23.0'))).toBe(false);
    const tc = parseGoSpec(goSpecFromGoMod(parseGoMod('go 1.21\ntoolchain go1.22.5')).spec);
    expect(goSpecMatches(tc, v('1.22.5'))).toBe(true);
    expect(goSpecMatches(tc, v('1.22.6'))).toBe(false);
  });
});

describe('go.mod errors name file and line', () => {
  it.each([
    ['no go or toolchain line', 'module m\nrequire x v1.0.0\n', undefined, /names no Go version/],
    ['invalid go version', 'module m\n\ngo 1.x\n', 3, /invalid go directive 'go 1.x'/],
    ['go with go prefix', 'module m\ngo go1.22\n', 2, /invalid go directive/],
    ['bad toolchain', 'module m\ngo 1.22\ntoolchain 1.22.5\n', 3, /invalid toolchain directive.*toolchain go1.22.5/],
    ['repeated go', 'module m\ngo 1.22\ngo 1.23\n', 3, /repeated go directive \(first on line 2\)/],
    ['repeated toolchain', 'go 1.22\ntoolchain go1.22.1\ntoolchain go1.22.2\n', 3, /repeated toolchain directive/],
    ['unterminated block', 'module m\ngo 1.22\nrequire (\n  a v1\n', 3, /unterminated block/],
    ['go as a block', 'module m\ngo (\n1.22\n)\n', 2, /cannot be a block/],
  ])('%s', (_name, text, line, re) => {
    let err: unknown;
    try {
      goSpecFromGoMod(parseGoMod(text, 'sub/go.mod'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toMatch(re);
    expect((err as InputError).location).toEqual(line === undefined ? { file: 'sub/go.mod' } : { file: 'sub/go.mod', line });
    expect((err as InputError).message.startsWith(line === undefined ? 'sub/go.mod: ' : `sub/go.mod:${line}: `)).toBe(true);
  });
});
