/**
 * A tar reader over a stream of byte chunks: headers are parsed synchronously from the chunks as
 * they arrive (no stream machinery between the decompressor and the writer), and each entry comes
 * out with its body whole (a view of the decompressed chunk when it lies in one) or, above
 * `wholeUpTo`, as chunks to stream.
 *
 * Formats: POSIX ustar (the 155-byte name prefix), pax extended headers (`x`, and global `g`
 * headers applying to every later entry: path, linkpath, size, mtime), GNU (long names `L` and
 * long link names `K`, base-256 numbers) and V7 (no magic; a name ending in `/` is a directory).
 * Every header's checksum is checked (the unsigned sum, or the signed sum old tars wrote). The
 * archive ends at the first all-zero block, or at the end of the data on a header boundary; data
 * ending inside a header or a body is a truncated archive. What follows the end block is read and
 * dropped, so the decompressor still checks its own framing to the end.
 *
 * Only the format is judged here; what an entry may do on disk is the SafeWriter's business
 * (tar.ts). Sparse files, volume headers and other entry kinds come out with their type letter
 * for the caller to refuse.
 */

/** The tar data is malformed: a bad checksum, a bad number, a truncated header or body. */
export class TarFormatError extends Error {}

export type TarEntryType =
  | 'file'
  | 'contiguous-file'
  | 'link'
  | 'symlink'
  | 'directory'
  | 'character-device'
  | 'block-device'
  | 'fifo'
  /** Anything else, by its type letter (e.g. GNU sparse `S`). */
  | `type "${string}"`;

export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** Bytes of content (after a pax `size`). */
  size: number;
  /** The permission bits as stored (0o7777 and below). */
  mode: number;
  /** Modification time, when the header has a usable one. */
  mtime?: Date;
  /** A link's target ('' when none). */
  linkname: string;
}

export interface TarEntry {
  header: TarHeader;
  /**
   * The content of a file entry: whole when `size <= wholeUpTo`, else chunks to read before asking
   * for the next entry (what is left unread is skipped). Empty for every other type.
   */
  body: Buffer | AsyncIterable<Buffer>;
}

export interface TarReadOptions {
  /** File bodies up to this many bytes come out whole (default 1 MiB). */
  wholeUpTo?: number;
}

const BLOCK = 512;
/** The most an extension header (pax records, a GNU long name) may hold: far above any real name. */
const MAX_EXTENSION = 1 << 20;

/** The chunks not read yet: a list, and how far into the first one reading is. */
class Chunks {
  private readonly list: Buffer[] = [];
  private at = 0;
  available = 0;
  ended = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Pull chunks until `n` bytes are buffered; false when the data ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.available < n && !this.ended) {
      const r = await this.source.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const c = r.value;
      if (c.length === 0) continue;
      this.list.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      this.available += c.length;
    }
    return this.available >= n;
  }

  /** `n` buffered bytes: a view when they lie in one chunk, else a copy. */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.list[0]!;
    if (first.length - this.at >= n) {
      const out = first.subarray(this.at, this.at + n);
      this.drop(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    for (let filled = 0; filled < n; ) {
      const c = this.list[0]!;
      const k = Math.min(n - filled, c.length - this.at);
      c.copy(out, filled, this.at, this.at + k);
      filled += k;
      this.drop(k);
    }
    return out;
  }

  /** Up to `n` buffered bytes from the first chunk (at least one when any is buffered). */
  takeSome(n: number): Buffer {
    const first = this.list[0]!;
    const k = Math.min(n, first.length - this.at);
    const out = first.subarray(this.at, this.at + k);
    this.drop(k);
    return out;
  }

  /** Forget `n` buffered bytes. */
  drop(n: number): void {
    this.available -= n;
    while (n > 0) {
      const c = this.list[0]!;
      const left = c.length - this.at;
      if (n < left) {
        this.at += n;
        return;
      }
      n -= left;
      this.list.shift();
      this.at = 0;
    }
  }

  /** Skip `n` bytes, pulling as needed; false when the data ends first. */
  async skip(n: number): Promise<boolean> {
    while (n > 0) {
      if (this.available === 0 && !(await this.fill(1))) return false;
      const k = Math.min(n, this.available);
      this.drop(k);
      n -= k;
    }
    return true;
  }
}

const truncated = (what: string) => new TarFormatError(`unexpected end of data in ${what}: the tar data is truncated`);

/** A numeric field: octal text (leading spaces / NULs, ending at a space or NUL) or GNU base-256. */
function number(b: Buffer, off: number, len: number, field: string, strict: boolean): number {
  const first = b[off]!;
  if (first & 0x80) {
    if (first !== 0x80) {
      if (strict) throw new TarFormatError(`header field "${field}" is a negative number`);
      return NaN;
    }
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
    if (!Number.isSafeInteger(v)) {
      if (strict) throw new TarFormatError(`header field "${field}" is too large`);
      return NaN;
    }
    return v;
  }
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) {
      if (strict) throw new TarFormatError(`header field "${field}" is not an octal number`);
      break;
    }
    v = v * 8 + (c - 0x30);
  }
  if (strict) {
    // nothing but padding after the number
    for (; i < end; i++) if (b[i] !== 0x20 && b[i] !== 0) throw new TarFormatError(`header field "${field}" is not an octal number`);
  }
  return v;
}

function text(b: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

/** False for an all-zero block (the end of the archive); otherwise checks the header's checksum. */
function checkBlock(b: Buffer): boolean {
  if (b[0] === 0 && allZero(b)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  const stored = number(b, 148, 8, 'chksum', false);
  if (stored !== unsigned && stored !== signed) {
    throw new TarFormatError('a header checksum does not match (corrupt data, or not a tar archive)');
  }
  return true;
}

function allZero(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

const TYPES: Record<number, TarEntryType> = {
  0: 'file',
  0x30: 'file',
  0x31: 'link',
  0x32: 'symlink',
  0x33: 'character-device',
  0x34: 'block-device',
  0x35: 'directory',
  0x36: 'fifo',
  0x37: 'contiguous-file',
};

/** The pax keywords we use; the others (uid, uname, atime, SCHILY.*, ...) are checked for form and dropped. */
interface PaxFields {
  path?: string;
  linkpath?: string;
  size?: number;
  mtime?: Date;
}

/**
 * pax records (`<length> <key>=<value>\n`, the length counting the whole record), read into `into`
 * (a later record or header overrides an earlier one). Only the four keywords we use are kept, so a
 * header of a million other keys costs its parse and nothing after.
 */
function parsePax(data: Buffer, into: PaxFields): PaxFields {
  let at = 0;
  while (at < data.length) {
    // a NUL-padded tail (some writers pad the block)
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    const len = space < 0 || space - at > 20 ? NaN : Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(len) || len <= space - at + 1 || at + len > data.length || data[at + len - 1] !== 0x0a) {
      throw new TarFormatError('a pax extended header has a malformed record');
    }
    const end = at + len - 1;
    const eq = data.indexOf(0x3d, space + 1);
    if (eq <= space + 1 || eq >= end) throw new TarFormatError('a pax extended header has a record without a key');
    const key = data.toString('latin1', space + 1, eq);
    if (key === 'path' || key === 'linkpath') into[key] = data.toString('utf8', eq + 1, end);
    else if (key === 'size') into.size = paxSize(data.toString('latin1', eq + 1, end));
    else if (key === 'mtime') {
      const t = paxTime(data.toString('latin1', eq + 1, end));
      if (t !== undefined) into.mtime = t;
    }
    at += len;
  }
  return into;
}

function paxSize(v: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new TarFormatError(`a pax extended header has a bad size "${v.slice(0, 40)}"`);
  return Number(v);
}

function paxTime(v: string): Date | undefined {
  const s = Number(v);
  const d = /^-?\d+(\.\d+)?$/.test(v) && Number.isFinite(s) ? new Date(s * 1000) : undefined;
  return d === undefined || Number.isNaN(d.getTime()) ? undefined : d;
}

/** Extension headers in a row with no entry after them: real archives have one to three. */
const MAX_EXTENSIONS_IN_A_ROW = 64;

/**
 * The header side of the format, synchronous: each 512-byte header block in, what it is out. The
 * extension headers (pax, GNU long names) it is told about apply to the next entry.
 */
class Headers {
  private global: PaxFields | undefined;
  private pax: PaxFields | undefined;
  private inARow = 0;
  private longName: string | undefined;
  private longLink: string | undefined;
  /** The type letter of the extension header `block` returned the size of. */
  private extFlag = 0;

  /** Whether an extension header is waiting for its entry. */
  get pending(): boolean {
    return this.pax !== undefined || this.longName !== undefined || this.longLink !== undefined;
  }

  /** null: the end of the archive; a number: an extension header of that many bytes (`extension` next). */
  block(block: Buffer): TarHeader | number | null {
    if (!checkBlock(block)) return null;
    const flag = block[156]!;
    let size = number(block, 124, 12, 'size', true);
    if (flag === 0x78 /* x */ || flag === 0x67 /* g */ || flag === 0x4c /* L */ || flag === 0x4b /* K */) {
      if (size > MAX_EXTENSION) throw new TarFormatError(`an extension header of ${size} bytes is larger than ${MAX_EXTENSION}`);
      if (++this.inARow > MAX_EXTENSIONS_IN_A_ROW) throw new TarFormatError(`more than ${MAX_EXTENSIONS_IN_A_ROW} extension headers in a row`);
      this.extFlag = flag;
      return size;
    }
    let name = this.longName ?? text(block, 0, 100);
    if (this.longName === undefined && block[345] !== 0 && block.toString('latin1', 257, 263) === 'ustar\0') {
      name = `${text(block, 345, 155)}/${name}`;
    }
    let linkname = this.longLink ?? text(block, 157, 100);
    const mode = number(block, 100, 8, 'mode', false) & 0o7777;
    const seconds = number(block, 136, 12, 'mtime', false);
    let mtime: Date | undefined = new Date(seconds * 1000);
    if (Number.isNaN(mtime.getTime())) mtime = undefined;
    for (const fields of [this.global, this.pax]) {
      if (fields === undefined) continue;
      if (fields.path !== undefined) name = fields.path;
      if (fields.linkpath !== undefined) linkname = fields.linkpath;
      if (fields.size !== undefined) size = fields.size;
      if (fields.mtime !== undefined) mtime = fields.mtime;
    }
    this.pax = this.longName = this.longLink = undefined;
    this.inARow = 0;
    let type: TarEntryType = TYPES[flag] ?? `type "${String.fromCharCode(flag)}"`;
    if (type === 'file' && name.endsWith('/')) type = 'directory'; // old tars: a directory by its name
    const header: TarHeader = { name, type, size, mode, linkname };
    if (mtime !== undefined) header.mtime = mtime;
    return header;
  }

  /** The content of the extension header `block` announced. */
  extension(data: Buffer): void {
    const flag = this.extFlag;
    if (flag === 0x78) this.pax = parsePax(data, this.pax ?? {});
    else if (flag === 0x67) this.global = parsePax(data, this.global ?? {});
    else if (flag === 0x4c) this.longName = text(data, 0, data.length);
    else this.longLink = text(data, 0, data.length);
  }
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

/**
 * The entries of the tar data in `source`, in order. (The generator only moves bytes; the format is
 * `Headers`'. Kept small on purpose: V8 compiled an earlier, all-in-one version for ~70 ms on every
 * extraction thread.)
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, opts: TarReadOptions = {}): AsyncGenerator<TarEntry> {
  const wholeUpTo = opts.wholeUpTo ?? 1 << 20;
  const it = source[Symbol.asyncIterator]();
  const chunks = new Chunks(it);
  const headers = new Headers();
  let finished = false;
  try {
    for (;;) {
      if (chunks.available < BLOCK && !(await chunks.fill(BLOCK))) {
        if (chunks.available === 0 && !headers.pending) break;
        throw truncated('a header');
      }
      const header = headers.block(chunks.take(BLOCK));
      if (header === null) break;
      if (typeof header === 'number') {
        const padded = header + padding(header);
        if (chunks.available < padded && !(await chunks.fill(padded))) throw truncated('an extension header');
        headers.extension(chunks.take(header));
        chunks.drop(padded - header);
        continue;
      }
      const { size, type } = header;
      const pad = padding(size);
      if (type !== 'file' && type !== 'contiguous-file') {
        // Data after a directory, a link or a device: tar programs disagree on whether to skip it
        // (Python's tarfile, what conda extracts with, does not: it reads on for a header there), so
        // where the next entry starts would be ours alone. Other kinds are refused by the writer.
        if (size !== 0 && !type.startsWith('type ')) throw new TarFormatError(`the ${type} entry "${header.name}" claims ${size} bytes of data`);
        yield { header, body: EMPTY };
        if (!(await chunks.skip(size + pad))) throw truncated(`the entry "${header.name}"`);
      } else if (size <= wholeUpTo) {
        if (chunks.available < size + pad && !(await chunks.fill(size + pad))) throw truncated(`the file "${header.name}"`);
        const body = chunks.take(size);
        chunks.drop(pad);
        yield { header, body };
      } else {
        const body = new StreamedBody(chunks, header);
        yield { header, body };
        if (!(await chunks.skip(body.left + pad))) throw truncated(`the file "${header.name}"`);
      }
    }
    // the rest (the end blocks' padding) is read so the decompressor checks its data to the end
    while (!chunks.ended) {
      chunks.drop(chunks.available);
      await chunks.fill(1);
    }
    finished = true;
  } finally {
    if (!finished) await it.return?.();
  }
}

/** A large file's content, as it arrives; what is not read is skipped by readTar. */
class StreamedBody implements AsyncIterable<Buffer> {
  left: number;
  constructor(
    private readonly chunks: Chunks,
    private readonly header: TarHeader,
  ) {
    this.left = header.size;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    while (this.left > 0) {
      if (this.chunks.available === 0 && !(await this.chunks.fill(1))) throw truncated(`the file "${this.header.name}"`);
      const piece = this.chunks.takeSome(this.left);
      this.left -= piece.length;
      yield piece;
    }
  }
}

const EMPTY = Buffer.alloc(0);
