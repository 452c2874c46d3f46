/**
 * HttpClient.stream: the body handed to a consumer as it arrives (src/net/http.ts). The consumer
 * sees exactly the bytes `request` would return (content-encoding undone); a failed transfer is
 * retried with a new consumer call; a consumer's own error is thrown as it is and never retried;
 * a 304 does not call the consumer.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpClient, type StreamedResponse } from '../../src/net/http.js';
import { InputError, NetworkError } from '../../src/errors.js';
import { ChannelServer, startChannelServer } from '../support/channel-server.js';

const BODY = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => 97 + ((i * 7 + (i >> 10)) % 26)));

let server: ChannelServer;
const client = (retries = 3) => new HttpClient({ retries, retryDelayMs: 1, maxRetryDelayMs: 5, timeoutMs: 5_000 });

/** A consumer that collects the body and counts its calls and chunks. */
function collector() {
  const state = { calls: 0, chunks: 0 };
  const consume = async (res: StreamedResponse): Promise<Buffer> => {
    state.calls++;
    const parts: Buffer[] = [];
    for await (const c of res.body) {
      state.chunks++;
      parts.push(c);
    }
    return Buffer.concat(parts);
  };
  return { state, consume };
}

beforeAll(async () => {
  server = await startChannelServer();
  server.route('/big.json', BODY, 'application/json');
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  server.clearFaults();
  server.contentEncoding(undefined);
  server.requests.length = 0;
});

describe('HttpClient.stream', () => {
  it('hands the body over in pieces, the same bytes as request()', async () => {
    const { state, consume } = collector();
    const r = await client().stream(server.url('/big.json'), {}, consume);
    expect(r.status).toBe(200);
    expect('value' in r && r.value.equals(BODY)).toBe(true);
    expect(state.chunks).toBeGreaterThan(1);
    expect((await client().request(server.url('/big.json'))).body.equals(BODY)).toBe(true);
  });

  it.each(['gzip', 'br'] as const)('undoes a %s content-encoding as it streams', async (enc) => {
    server.contentEncoding(enc);
    const { consume } = collector();
    const r = await client().stream(server.url('/big.json'), {}, consume);
    expect(r.headers['content-encoding']).toBe(enc);
    expect(Number(r.headers['content-length'])).toBeLessThan(BODY.length / 2);
    expect('value' in r && r.value.equals(BODY)).toBe(true);
  });

  it('a 304 resolves without calling the consumer', async () => {
    const first = await client().stream(server.url('/big.json'), {}, collector().consume);
    const { state, consume } = collector();
    const r = await client().stream(server.url('/big.json'), { headers: { 'if-none-match': first.headers.etag! } }, consume);
    expect(r.status).toBe(304);
    expect('value' in r).toBe(false);
    expect(state.calls).toBe(0);
  });

  it('a body cut off mid-transfer is retried with a new consumer call and then succeeds', async () => {
    server.fault({ path: '/big.json', fault: { kind: 'truncate', bytes: 200_000 }, times: 1 });
    const { state, consume } = collector();
    const r = await client().stream(server.url('/big.json'), {}, consume);
    expect('value' in r && r.value.equals(BODY)).toBe(true);
    expect(state.calls).toBe(2);
    expect(server.requestsTo('/big.json')).toHaveLength(2);
  });

  it('a body cut off every time is a NetworkError after the retries (the consumer saw each attempt)', async () => {
    server.fault({ path: '/big.json', fault: { kind: 'truncate', bytes: 100_000 } });
    const { state, consume } = collector();
    const err = await client(2).stream(server.url('/big.json'), {}, consume).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).message).toMatch(/after 3 attempts/);
    expect(state.calls).toBe(3);
  });

  it('a corrupt gzip body is E_BAD_RESPONSE naming the URL', async () => {
    server.contentEncoding('gzip');
    server.fault({ path: '/big.json', fault: { kind: 'corrupt' } });
    const err = await client(1).stream(server.url('/big.json'), {}, collector().consume).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).code).toBe('E_BAD_RESPONSE');
    expect((err as Error).message).toContain('/big.json');
    expect((err as Error).message).toMatch(/corrupt gzip/);
  });

  it("the consumer's own error is thrown as it is and not retried", async () => {
    let calls = 0;
    const mine = new InputError('not the JSON I wanted', { code: 'E_REPODATA_INVALID' });
    const err = await client()
      .stream(server.url('/big.json'), {}, async (res) => {
        calls++;
        for await (const _ of res.body) throw mine;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(mine);
    expect(calls).toBe(1);
    expect(server.requestsTo('/big.json')).toHaveLength(1);
  });

  it('a 404 is the usual not-found NetworkError and the consumer is not called', async () => {
    const { state, consume } = collector();
    const err = await client().stream(server.url('/nope.json'), {}, consume).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).status).toBe(404);
    expect(state.calls).toBe(0);
  });
});
