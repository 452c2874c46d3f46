/**
 * RECORD files (PEP 376 / PEP 627, the "Recording installed projects" spec): a CSV of
 * `path,hash,size` rows, as Python's csv module reads and writes them. `hash` is
 * `<algorithm>=<urlsafe-base64 digest without padding>`.
 */
import { createHash } from 'node:crypto';

export interface RecordRow {
  path: string;
  /** `sha256=...`, or '' (RECORD itself, files a tool chose not to hash). */
  hash: string;
  /** Decimal size, or ''. */
  size: string;
}

/** Hash algorithms a wheel may use in RECORD: sha256 or stronger (md5 and sha1 are forbidden). */
export const RECORD_ALGORITHMS = new Set(['sha256', 'sha384', 'sha512']);

/** Parse CSV text (RFC 4180 plus Python csv's quoting: `""` inside quotes, CRLF or LF rows). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  let started = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      started = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      started = true;
      i++;
    } else if (c === '\n' || c === '\r') {
      if (started || field !== '' || row.length > 0) {
        row.push(field);
        rows.push(row);
      }
      row = [];
      field = '';
      started = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      started = true;
      i++;
    }
  }
  if (started || field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** RECORD rows (a row with fewer than 3 fields gets '' for the missing ones). */
export function parseRecord(text: string): RecordRow[] {
  return parseCsv(text)
    .filter((r) => !(r.length === 1 && r[0] === ''))
    .map((r) => ({ path: r[0] ?? '', hash: r[1] ?? '', size: r[2] ?? '' }));
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RECORD text: one `path,hash,size` row per line, LF line ends (as pip and installer write it). */
export function formatRecord(rows: readonly RecordRow[]): string {
  return rows.map((r) => [r.path, r.hash, r.size].map(csvField).join(',') + '\n').join('');
}

/** `sha256=<urlsafe base64, no padding>` of `data`. */
export function recordHash(data: Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}=${createHash(algorithm).update(data).digest('base64url')}`;
}

/** Split `algo=digest`; undefined when the field is empty or malformed. */
export function splitRecordHash(hash: string): { algorithm: string; digest: string } | undefined {
  const eq = hash.indexOf('=');
  if (eq <= 0) return undefined;
  return { algorithm: hash.slice(0, eq).toLowerCase(), digest: hash.slice(eq + 1).replace(/=+$/, '') };
}

/** A RECORD digest as lowercase hex (for messages and comparison with other tools). */
export function recordDigestHex(digest: string): string {
  return Buffer.from(digest, 'base64url').toString('hex');
}
