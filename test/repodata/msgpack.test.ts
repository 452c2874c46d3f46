import { createHash } from 'node:crypto';
import { Packr, pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack, MsgpackError } from '../../src/repodata/msgpack.js';
import { decodeShardIndex, sha256HexOf } from '../../src/repodata/shard-index.js';

/** What the values below look like after a MessagePack round trip (bytes as plain arrays for comparison). */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array ? { bin: [...v] } : Array.isArray(v) ? v.map(plain) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;

describe('decodeMsgpack', () => {
  it('decodes what msgpackr encodes: every width of int, str, bin, array and map, floats, nil, booleans', () => {
    const long = 'x'.repeat(70_000);
    const value = {
      small: [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1],
      negative: [-1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1],
      floats: [0.5, -1.25, 1e300, Math.PI],
      strings: ['', 'a', 'é', '日本語', 'a'.repeat(31), 'b'.repeat(32), 'c'.repeat(255), 'd'.repeat(256), long],
      bins: [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(300, 7), Buffer.alloc(70_000, 9)],
      arrays: [[], Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 70_000 }, () => 1)],
      maps: [{}, Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i]))],
      nil: null,
      yes: true,
      no: false,
      nested: { a: { b: { c: [{ d: 'e' }] } } },
    };
    // useRecords off: plain MessagePack, no msgpackr record extension
    const bytes = new Packr({ useRecords: false, variableMapSize: true }).pack(value);
    expect(plain(decodeMsgpack(bytes))).toEqual(plain(value));
  });

  it('decodes 64-bit integers (uint64 / int64 markers) as numbers and float32', () => {
    expect(decodeMsgpack(Buffer.from([0xcf, 0, 0, 0, 1, 0, 0, 0, 5]))).toBe(2 ** 32 + 5);
    expect(decodeMsgpack(Buffer.from([0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]))).toBe(-2);
    expect(decodeMsgpack(Buffer.from([0xca, 0x3f, 0xc0, 0, 0]))).toBe(1.5);
  });

  it('gives bin values as views of the input and map keys that are numbers as strings', () => {
    const input = Buffer.from([0x82, 0x01, 0xc4, 0x02, 0xaa, 0xbb, 0xa1, 0x78, 0xc0]);
    const out = decodeMsgpack(input) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['1', 'x']);
    expect(out['1']).toBeInstanceOf(Uint8Array);
    expect([...(out['1'] as Uint8Array)]).toEqual([0xaa, 0xbb]);
    expect(out.x).toBeNull();
  });

  it('keeps a __proto__ key as an own property, never as the prototype', () => {
    const out = decodeMsgpack(pack({ ['__proto__']: { polluted: true }, ok: 1 } as Record<string, unknown>)) as Record<string, unknown>;
    const viaJson = decodeMsgpack(Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa1, 0x70, 0xc3])])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(viaJson)).toBe(Object.prototype);
    expect(Object.keys(viaJson)).toEqual(['__proto__']);
    // the value is not the prototype: nothing is inherited from it
    expect(viaJson.p).toBeUndefined();
    expect(Object.keys(out)).toEqual(['__proto__', 'ok']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('refuses truncated data, trailing bytes, extension types, the reserved byte and absurd lengths', () => {
    const good = pack({ name: 'numpy', depends: ['python >=3.9'] });
    for (let cut = 0; cut < good.length; cut++) expect(() => decodeMsgpack(good.subarray(0, cut)), `cut at ${cut}`).toThrow(MsgpackError);
    expect(() => decodeMsgpack(Buffer.concat([good, Buffer.from([0])]))).toThrow(/1 bytes after the end/);
    expect(() => decodeMsgpack(Buffer.from([0xd4, 0x05, 0x01]))).toThrow(/extension/);
    expect(() => decodeMsgpack(Buffer.from([0xc7, 0x01, 0x05, 0x01]))).toThrow(/extension/);
    expect(() => decodeMsgpack(Buffer.from([0xc1]))).toThrow(/reserved/);
    // an array claiming 2^32-1 elements in 5 bytes: an error, not a 4-billion-slot allocation
    expect(() => decodeMsgpack(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow(MsgpackError);
    expect(() => decodeMsgpack(Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]))).toThrow(MsgpackError);
    // a map key that is itself a map
    expect(() => decodeMsgpack(Buffer.from([0x81, 0x80, 0x01]))).toThrow(/not a string or number/);
  });

  it('refuses nesting deeper than it can walk instead of overflowing the stack', () => {
    const deep = Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0x01])]);
    expect(() => decodeMsgpack(deep)).toThrow(/nested too deeply/);
  });
});

describe('decodeShardIndex', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest();

  it('maps each name to its shard hash, given as 32 bytes or as hex (any case); others are ignored', () => {
    const idx = {
      info: { base_url: 'https://example.org/pkgs/', shards_base_url: './shards/', subdir: 'linux-64' },
      version: 1,
      shards: {
        numpy: sha('numpy'),
        python: sha('python').toString('hex').toUpperCase(),
        short: Buffer.alloc(31, 1),
        notHex: 'z'.repeat(64),
        number: 5,
        nested: { a: 1 },
      },
    };
    const out = decodeShardIndex(pack(idx));
    expect(out.info).toEqual(idx.info);
    expect(out.shards.get('numpy')).toBe(sha('numpy').toString('hex'));
    expect(out.shards.get('python')).toBe(sha('python').toString('hex'));
    for (const n of ['short', 'notHex', 'number', 'nested', 'absent']) expect(out.shards.get(n), n).toBeUndefined();
    expect(out.shards.names()).toEqual(['numpy', 'python']);
    expect(out.shards.size).toBe(2);
  });

  it('gives the same hashes as decoding the whole index would, at conda-forge size', () => {
    const shards: Record<string, Uint8Array> = {};
    for (let i = 0; i < 40_000; i++) shards[`pkg-${i}-é`] = sha(String(i));
    const out = decodeShardIndex(pack({ info: {}, version: 1, shards }));
    expect(out.shards.size).toBe(40_000);
    for (const i of [0, 1, 17, 39_999]) expect(out.shards.get(`pkg-${i}-é`)).toBe(sha256HexOf(shards[`pkg-${i}-é`]));
  });

  it('takes the last of a repeated key, and an index that is not a map as empty', () => {
    // {shards: {a: <sha a>}, shards: {b: <sha b>}} and {shards: {a: <sha>, a: 'bad'}}
    const entry = (name: string, v: Buffer) => Buffer.concat([Buffer.from([0xa0 | name.length]), Buffer.from(name), v]);
    const bin = (b: Buffer) => Buffer.concat([Buffer.from([0xc4, 32]), b]);
    const shardsKey = Buffer.concat([Buffer.from([0xa6]), Buffer.from('shards')]);
    const twice = Buffer.concat([Buffer.from([0x82]), shardsKey, Buffer.from([0x81]), entry('a', bin(sha('a'))), shardsKey, Buffer.from([0x81]), entry('b', bin(sha('b')))]);
    const t = decodeShardIndex(twice);
    expect(t.shards.names()).toEqual(['b']);
    const badLast = Buffer.concat([Buffer.from([0x81]), shardsKey, Buffer.from([0x82]), entry('a', bin(sha('a'))), entry('a', Buffer.from([0xa3, 0x62, 0x61, 0x64]))]);
    expect(decodeShardIndex(badLast).shards.get('a')).toBeUndefined();
    expect(decodeShardIndex(pack([1, 2, 3])).shards.size).toBe(0);
    expect(decodeShardIndex(pack('text')).info).toEqual({});
    expect(decodeShardIndex(pack({ info: 'not a map', shards: 'not a map' }))).toMatchObject({ info: {} });
  });

  it('of a name given more than once, as bytes or as hex, the last entry counts; odd keys are names too', () => {
    const str = (t: string) => {
      const n = Buffer.byteLength(t);
      return Buffer.concat([Buffer.from(n < 32 ? [0xa0 | n] : [0xd9, n]), Buffer.from(t)]);
    };
    const bin = (b: Buffer) => Buffer.concat([Buffer.from([0xc4, 32]), b]);
    const shardsKey = str('shards');
    const entries = [
      [str('a'), bin(sha('a1'))],
      [str('a'), str(sha('a2').toString('hex'))], // bytes, then hex: hex
      [str('b'), str(sha('b1').toString('hex'))],
      [str('b'), bin(sha('b2'))], // hex, then bytes: bytes
      [str('c'), bin(sha('c1'))],
      [str('c'), Buffer.from([0xc0])], // then nil: gone
      [str('c'), bin(sha('c3'))], // then bytes again: back
      [str('numpy-é'), bin(sha('n'))],
      [Buffer.from([0x07]), bin(sha('7'))], // an integer key, as an object key would be: '7'
    ];
    const idx = Buffer.concat([Buffer.from([0x81]), shardsKey, Buffer.from([0x80 | entries.length]), ...entries.flat()]);
    const out = decodeShardIndex(idx).shards;
    expect(out.get('a')).toBe(sha('a2').toString('hex'));
    expect(out.get('b')).toBe(sha('b2').toString('hex'));
    expect(out.get('c')).toBe(sha('c3').toString('hex'));
    expect(out.get('numpy-é')).toBe(sha('n').toString('hex'));
    expect(out.get('7')).toBe(sha('7').toString('hex'));
    expect(out.names().sort()).toEqual(['7', 'a', 'b', 'c', 'numpy-é']);
  });

  it('refuses a truncated index', () => {
    const bytes = pack({ info: {}, shards: { numpy: sha('numpy') } });
    expect(() => decodeShardIndex(bytes.subarray(0, bytes.length - 3))).toThrow(MsgpackError);
  });
});
