import { describe, expect, it } from 'vitest';
import {
  findTokenSegment,
  hasCredentials,
  maskCredentials,
  REDACTED,
  redactText,
  redactUrl,
  stripCredentials,
  stripTokenSegment,
  stripUserinfo,
} from '../../src/net/redact.js';

describe('redactUrl', () => {
  it.each([
    ['https://conda.anaconda.org/t/abc-123/conda-forge/linux-64/repodata.json', 'https://conda.anaconda.org/t/********/conda-forge/linux-64/repodata.json'],
    ['https://conda.anaconda.org/t/abc-123', 'https://conda.anaconda.org/t/********'],
    ['https://user:p%40ss@repo.example/chan/noarch/x.conda', 'https://********@repo.example/chan/noarch/x.conda'],
    ['https://onlyuser@repo.example/chan', 'https://********@repo.example/chan'],
    ['https://repo.example/chan/repodata.json?token=s3cret&x=1', 'https://repo.example/chan/repodata.json?token=********&x=1'],
    ['https://repo.example/f?a=1&access_token=zzz', 'https://repo.example/f?a=1&access_token=********'],
    ['https://conda.anaconda.org/conda-forge/linux-64/repodata.json', 'https://conda.anaconda.org/conda-forge/linux-64/repodata.json'],
    ['file:///home/me/chan/linux-64/repodata.json', 'file:///home/me/chan/linux-64/repodata.json'],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
    expect(hasCredentials(input)).toBe(input !== expected);
  });

  it('accepts URL objects', () => {
    expect(redactUrl(new URL('https://a:b@h.example/t/tok/x'))).toBe('https://********@h.example/t/********/x');
  });
});

describe('redactText', () => {
  it('redacts every URL inside a message', () => {
    const msg = 'GET https://h.example/t/TOKEN1/c/linux-64/x failed, then https://u:PW@h.example/y: ECONNRESET';
    const out = redactText(msg);
    expect(out).not.toMatch(/TOKEN1|PW/);
    expect(out).toContain('ECONNRESET');
  });
});

describe('stripCredentials', () => {
  it.each([
    ['https://conda.anaconda.org/t/abc/conda-forge', 'https://conda.anaconda.org/conda-forge'],
    ['https://u:p@h.example/c/linux-64/a.conda', 'https://h.example/c/linux-64/a.conda'],
    ['https://h.example/a?token=x&b=2', 'https://h.example/a?b=2'],
    ['https://h.example/a?b=2&token=x', 'https://h.example/a?b=2'],
    ['https://h.example/a?token=x', 'https://h.example/a'],
    ['https://h.example/plain', 'https://h.example/plain'],
  ])('%s → %s', (input, expected) => expect(stripCredentials(input)).toBe(expected));
});

describe('the one /t/<token> pattern (channel parsing, channel comparison, messages)', () => {
  it('finds the first token segment with its position, stopping at /, ?, # and whitespace', () => {
    expect(findTokenSegment('/t/tk-123/conda-forge')).toEqual({ index: 0, length: 9, token: 'tk-123' });
    expect(findTokenSegment('/org/t/abc')).toEqual({ index: 4, length: 6, token: 'abc' });
    expect(findTokenSegment('/t/abc?x=1')!.token).toBe('abc');
    expect(findTokenSegment('/conda-forge/linux-64')).toBeUndefined();
    expect(findTokenSegment('/t/')).toBeUndefined();
  });
  it('strips the first (or every) token segment and the userinfo', () => {
    expect(stripTokenSegment('https://h/t/A/t/B/chan')).toBe('https://h/t/B/chan');
    expect(stripTokenSegment('https://h/t/A/t/B/chan', true)).toBe('https://h/chan');
    expect(stripTokenSegment('https://h/t/A')).toBe('https://h');
    expect(stripUserinfo('https://u:p@h/chan')).toBe('https://h/chan');
    expect(stripUserinfo('conda-forge')).toBe('conda-forge');
  });
  it('masks every credential of unparsable input, variables too', () => {
    expect(maskCredentials('ftp://u:secret@h/t/TOK/c')).toBe(`ftp://${REDACTED}@h/t/${REDACTED}/c`);
    expect(maskCredentials('https://h/t/${TOKEN}/c')).toBe(`https://h/t/${REDACTED}/c`);
    expect(REDACTED).toBe('********');
  });
});
