/**
 * zstd decompression via zstddec's streaming decoder (WASM).
 *
 * The plain `ZSTDDecoder.decode()` needs the frame's content size; repodata.json.zst and CEP-16 shards
 * are often written without it, so we always stream. zstddec's loop spins forever on corrupt input
 * (the decoder returns an error without consuming anything), so we feed bounded chunks and stop
 * when the decoder makes no progress.
 */
import { ZSTDDecoder } from 'zstddec/stream';

let decoder: ZSTDDecoder | undefined;
let ready: Promise<void> | undefined;

async function getDecoder(): Promise<ZSTDDecoder> {
  if (!decoder) {
    decoder = new ZSTDDecoder();
    ready = decoder.init();
  }
  await ready;
  return decoder;
}

const ZSTD_MAGIC = 0xfd2fb528;
const CHUNK = 128 * 1024;
/** Consecutive empty outputs we accept before calling the input corrupt. */
const MAX_STALLS = 4096;

/** Whether the bytes start with a zstd frame magic number. */
export function isZstd(data: Uint8Array): boolean {
  return data.length >= 4 && (data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24)) >>> 0 === ZSTD_MAGIC;
}

export class ZstdError extends Error {}

/** Decompress a whole zstd stream (one or more frames). Throws ZstdError on corrupt or truncated data. */
export async function decompressZstd(data: Uint8Array): Promise<Buffer> {
  if (!isZstd(data)) throw new ZstdError('not zstd data (bad magic number)');
  const dec = await getDecoder();
  const chunks = function* () {
    for (let off = 0; off < data.length; off += CHUNK) yield data.subarray(off, Math.min(off + CHUNK, data.length));
  };
  const parts: Uint8Array[] = [];
  let total = 0;
  let stalls = 0;
  try {
    for (const out of dec.decodeStreaming(chunks())) {
      if (out.length === 0) {
        if (++stalls > MAX_STALLS) throw new ZstdError('corrupt zstd data (decoder made no progress)');
        continue;
      }
      stalls = 0;
      parts.push(out);
      total += out.length;
    }
  } catch (err) {
    if (err instanceof ZstdError) throw err;
    throw new ZstdError(`corrupt or truncated zstd data: ${(err as Error).message}`);
  }
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return buf;
}
