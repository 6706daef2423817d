/**
 * Share links: every example graph and random valid graphs come back identical from a link, and
 * whatever a link holds (cut short, edited, junk, a compression bomb, a graph with errors) decodes
 * to structured issues, never an exception.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deflate, fromBase64Url, toBase64Url } from './bytes.ts';
import { loadGraph, serializeGraph } from './load.ts';
import { decodeShare, encodeShare, sharePayload, shareUrl } from './share.ts';
import { arbitraryGraph } from './testing.ts';

fc.configureGlobal({ seed: Number(process.env.WEFT_FUZZ_SEED) || 20261126 });

const graphsDir = new URL('../../graphs/', import.meta.url);
const examples = readdirSync(graphsDir).filter((f) => f.endsWith('.json'));

async function roundTrip(text: string) {
  const doc = loadGraph(text);
  const { doc: back, errors } = await decodeShare(await encodeShare(doc));
  expect(errors).toEqual([]);
  expect(serializeGraph(back!)).toBe(serializeGraph(doc));
}

describe('share links', () => {
  it.each(examples)('%s round-trips through a link to the identical graph', async (file) => {
    await roundTrip(readFileSync(new URL(file, graphsDir), 'utf8'));
  });

  it('random graphs with unicode, unknown fields and odd params round-trip', async () => {
    await fc.assert(
      fc.asyncProperty(arbitraryGraph(), async (raw) => {
        await roundTrip(JSON.stringify(raw));
      }),
      { numRuns: 150 },
    );
  });

  it('a link is compact: the latent diffusion example fits in a few kilobytes', async () => {
    const doc = loadGraph(readFileSync(new URL('latent-diffusion.json', graphsDir), 'utf8'));
    const payload = await encodeShare(doc);
    expect(payload).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(payload.length).toBeLessThan(serializeGraph(doc).length / 2);
  });

  it('shareUrl replaces any fragment and sharePayload reads it back', async () => {
    const doc = loadGraph(readFileSync(new URL('noise-blend.json', graphsDir), 'utf8'));
    const url = await shareUrl(doc, 'http://127.0.0.1:4173/?graph=x#old');
    expect(url.startsWith('http://127.0.0.1:4173/?graph=x#g=')).toBe(true);
    const payload = sharePayload(new URL(url).hash)!;
    expect(serializeGraph((await decodeShare(payload)).doc!)).toBe(serializeGraph(doc));
    expect(sharePayload('')).toBeUndefined();
    expect(sharePayload('#other=1')).toBeUndefined();
  });

  it('base64url round-trips every length of bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
      }),
    );
  });
});

describe('damaged links give issues, never exceptions', () => {
  const damaged = (r: { doc?: unknown; errors: { code: string; message: string }[] }) => {
    expect(r.doc).toBeUndefined();
    expect(r.errors.length).toBeGreaterThan(0);
    return r.errors[0];
  };

  it('an empty link, a character outside base64url and a cut-off link each say so', async () => {
    expect(damaged(await decodeShare('')).message).toMatch(/no graph/);
    expect(damaged(await decodeShare('abc$def')).message).toMatch(/"\$" at position 3 is not base64url/);
    const doc = loadGraph(readFileSync(new URL('vae-gan.json', graphsDir), 'utf8'));
    const payload = await encodeShare(doc);
    expect(damaged(await decodeShare(payload.slice(0, payload.length >> 1))).message).toMatch(/damaged/);
  });

  it('a compression bomb is refused at the size cap', async () => {
    const bomb = toBase64Url(await deflate(new Uint8Array(20 * 1024 * 1024).fill(32), 'deflate-raw'));
    expect(damaged(await decodeShare(bomb)).message).toMatch(/inflates to more than/);
  });

  it('a link to text that is not a graph reports the load issue', async () => {
    const enc = async (s: string) => toBase64Url(await deflate(new TextEncoder().encode(s), 'deflate-raw'));
    expect(damaged(await decodeShare(await enc('{"nodes": ['))).code).toBe('malformed-json');
    expect(damaged(await decodeShare(await enc('{"format":"weft.graph","version":9,"nodes":[]}'))).code).toBe('unsupported-version');
    const bad = await decodeShare(await enc('{"format":"weft.graph","version":1,"nodes":[{"id":"a","type":"X"},{"id":"a","type":"X"}]}'));
    expect(bad.errors.map((e) => e.code)).toEqual(['duplicate-node-id']);
  });

  it('fuzz: junk and edited links resolve to a graph or issues', async () => {
    const doc = loadGraph(readFileSync(new URL('noise-blend.json', graphsDir), 'utf8'));
    const good = await encodeShare(doc);
    const edited = fc
      .tuple(fc.nat({ max: good.length - 1 }), fc.string({ minLength: 0, maxLength: 4 }), fc.nat({ max: 4 }))
      .map(([at, ins, del]) => good.slice(0, at) + ins + good.slice(at + del));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.base64String({ maxLength: 200 }), edited), async (payload) => {
        const r = await decodeShare(payload);
        expect(r.doc !== undefined || r.errors.length > 0).toBe(true);
        for (const e of r.errors) expect(typeof e.message).toBe('string');
      }),
      { numRuns: 400 },
    );
  });
});
