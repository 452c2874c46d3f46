/**
 * Core metadata (METADATA / PEP 658 `.metadata` files): the fields the resolver needs, and reading
 * `*.dist-info/METADATA` out of a wheel when an index serves no metadata file.
 */
import yauzl from 'yauzl';
import { NetworkError } from '../errors.js';

export interface CoreMetadata {
  name: string;
  version: string;
  requiresDist: string[];
  requiresPython?: string;
  providesExtra: string[];
}

/** RFC 822-style headers up to the first blank line; continuation lines folded. */
export function parseCoreMetadata(text: string, source: string): CoreMetadata {
  const headers: Array<[string, string]> = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (line === '') break;
    if (/^[ \t]/.test(line) && headers.length) {
      headers[headers.length - 1]![1] += `\n${line.trim()}`;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
  }
  const all = (k: string) => headers.filter(([h]) => h === k).map(([, v]) => v);
  const name = all('name')[0];
  const version = all('version')[0];
  if (!name || !version) {
    throw new NetworkError(`${source}: not a core metadata file (no Name / Version header)`, { code: 'E_BAD_RESPONSE' });
  }
  const md: CoreMetadata = { name, version, requiresDist: all('requires-dist'), providesExtra: all('provides-extra') };
  const rp = all('requires-python')[0];
  if (rp) md.requiresPython = rp;
  return md;
}

/** The text of `<name>-<version>.dist-info/METADATA` inside a wheel held in memory. */
export function readWheelMetadata(wheel: Buffer, source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) =>
      reject(new NetworkError(`${source}: cannot read METADATA from the wheel: ${why}`, { code: 'E_BAD_RESPONSE', cause }));
    yauzl.fromBuffer(wheel, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return fail(err?.message ?? 'not a zip file', err);
      let found = false;
      zip.on('entry', (entry: yauzl.Entry) => {
        // Exactly one top-level *.dist-info/METADATA.
        if (/^[^/]+\.dist-info\/METADATA$/.test(entry.fileName)) {
          found = true;
          zip.openReadStream(entry, (e, stream) => {
            if (e || !stream) return fail(e?.message ?? 'unreadable entry', e);
            const chunks: Buffer[] = [];
            stream.on('data', (c: Buffer) => chunks.push(c));
            stream.on('error', (se) => fail(se.message, se));
            stream.on('end', () => {
              zip.close();
              resolve(Buffer.concat(chunks).toString('utf8'));
            });
          });
        } else {
          zip.readEntry();
        }
      });
      zip.on('end', () => {
        if (!found) fail('no *.dist-info/METADATA entry');
      });
      zip.on('error', (ze: Error) => fail(ze.message, ze));
      zip.readEntry();
    });
  });
}
