/**
 * Graphs inside PNGs: embedding keeps the picture (pngjs decodes the same pixels), the graph comes
 * back identical, and hostile files (cut short, damaged, lying about lengths, no graph) give a
 * PngError with a code and a message, never another exception and never a hang.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { loadGraph, serializeGraph } from './load.ts';
import { crc32, embedGraph, encodeRgbaPng, graphTextFromPng, parseGraphPng, PngError, readChunks, writeChunks } from './png.ts';
import { arbitraryGraph } from './testing.ts';

fc.configureGlobal({ seed: Number(process.env.WEFT_FUZZ_SEED) || 20261126 });

const graphsDir = new URL('../../graphs/', import.meta.url);
const examples = readdirSync(graphsDir).filter((f) => f.endsWith('.json'));
const example = (f: string) => loadGraph(readFileSync(new URL(f, graphsDir), 'utf8'));

/** A small RGBA picture with translucent pixels, written by pngjs (not by us). */
function pngjsImage(width = 7, height = 5): { png: Uint8Array; rgba: Uint8Array } {
  const img = new PNG({ width, height });
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37 + (i >> 2) * 11) & 0xff;
  return { png: new Uint8Array(PNG.sync.write(img)), rgba: new Uint8Array(img.data) };
}

const decode = (png: Uint8Array) => {
  const img = PNG.sync.read(Buffer.from(png));
  return { width: img.width, height: img.height, rgba: new Uint8Array(img.data) };
};

function pngErrorOf(fn: () => unknown): PngError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PngError);
    return err as PngError;
  }
  throw new Error('expected a PngError');
}

describe('a graph embedded in a PNG', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it.each(examples)('%s comes back identical and the pixels are unchanged', (file) => {
    const doc = example(file);
    const { png, rgba } = pngjsImage();
    const withGraph = embedGraph(png, doc);
    expect(decode(withGraph)).toEqual({ width: 7, height: 5, rgba });
    expect(serializeGraph(loadGraph(graphTextFromPng(withGraph)))).toBe(serializeGraph(doc));
    expect(readChunks(withGraph).map((c) => c.type)).toEqual(['IHDR', 'iTXt', ...readChunks(png).slice(1).map((c) => c.type)]);
  });

  it('embedding twice replaces the graph instead of adding a second one', () => {
    const { png } = pngjsImage();
    const twice = embedGraph(embedGraph(png, example('noise-blend.json')), example('vae-gan.json'));
    expect(readChunks(twice).filter((c) => c.type === 'iTXt')).toHaveLength(1);
    expect(loadGraph(graphTextFromPng(twice)).name).toBe(example('vae-gan.json').name);
  });

  it('random graphs (unicode, unknown fields) round-trip', () => {
    const { png } = pngjsImage(2, 2);
    fc.assert(
      fc.property(arbitraryGraph(), (raw) => {
        const doc = loadGraph(raw);
        expect(serializeGraph(parseGraphPng(embedGraph(png, doc)).doc!)).toBe(serializeGraph(doc));
      }),
      { numRuns: 150 },
    );
  });

  it('encodeRgbaPng writes exactly the pixels pngjs reads back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ width: fc.integer({ min: 1, max: 9 }), height: fc.integer({ min: 1, max: 9 }) }).chain(({ width, height }) =>
          fc.record({ width: fc.constant(width), height: fc.constant(height), rgba: fc.uint8Array({ minLength: width * height * 4, maxLength: width * height * 4 }) }),
        ),
        async (img) => {
          expect(decode(await encodeRgbaPng(img))).toEqual(img);
        },
      ),
      { numRuns: 60 },
    );
    await expect(encodeRgbaPng({ width: 2, height: 2, rgba: new Uint8Array(3) })).rejects.toThrow(/needs 16 bytes/);
  });
});

describe('hostile PNGs give a clear PngError', () => {
  const good = embedGraph(pngjsImage().png, example('noise-blend.json'));

  it('not a PNG at all', () => {
    expect(pngErrorOf(() => graphTextFromPng(new TextEncoder().encode('{"format": "weft.graph"}'))).code).toBe('not-png');
  });

  it('a PNG without a graph says that only Weft images carry one', () => {
    const e = pngErrorOf(() => graphTextFromPng(pngjsImage().png));
    expect(e.code).toBe('no-graph');
    expect(e.message).toMatch(/carries no Weft graph/);
    expect(parseGraphPng(pngjsImage().png).errors[0]).toMatchObject({ code: 'invalid-document', detail: { source: 'png', png: 'no-graph' } });
  });

  it('cut short anywhere', () => {
    for (let n = 0; n < good.length; n++) {
      expect(['not-png', 'truncated']).toContain(pngErrorOf(() => graphTextFromPng(good.subarray(0, n))).code);
    }
  });

  it('a damaged byte fails its CRC', () => {
    const bad = good.slice();
    bad[45] ^= 0x10; // inside the iTXt chunk's data (its header is bytes 33-40)
    const e = pngErrorOf(() => graphTextFromPng(bad));
    expect(e.code).toBe('bad-crc');
    expect(e.message).toMatch(/chunk iTXt at byte 33 is damaged/);
  });

  it('a chunk claiming gigabytes is refused without allocating them', () => {
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(33, 0xfffffff0);
    expect(pngErrorOf(() => graphTextFromPng(huge)).code).toBe('chunk-too-large');
    new DataView(huge.buffer).setUint32(33, 0x7ffffff0);
    expect(pngErrorOf(() => graphTextFromPng(huge)).code).toBe('truncated');
  });

  it('a graph chunk that is not UTF-8, or compressed, is named', () => {
    const chunks = readChunks(good).map((c) => ({ type: c.type, data: c.data.slice() }));
    const itxt = chunks[1];
    itxt.data[itxt.data.length - 1] = 0xff;
    expect(pngErrorOf(() => graphTextFromPng(writeChunks(chunks))).message).toMatch(/not valid UTF-8/);
    itxt.data[11] = 1; // the compression flag, after "weft.graph\0"
    expect(pngErrorOf(() => graphTextFromPng(writeChunks(chunks))).message).toMatch(/compressed/);
  });

  it('fuzz: random bytes and mutated PNGs give a graph or a PngError', () => {
    const mutated = fc
      .tuple(fc.nat({ max: good.length - 1 }), fc.uint8Array({ maxLength: 6 }), fc.nat({ max: 6 }), fc.boolean())
      .map(([at, ins, del, fixCrc]) => {
        const out = new Uint8Array([...good.subarray(0, at), ...ins, ...good.subarray(at + del)]);
        // Also mutate behind valid CRCs, so the parser past the CRC check is reached too.
        if (!fixCrc) return out;
        try {
          return writeChunks(readChunks(out));
        } catch {
          return out;
        }
      });
    const junk = fc.uint8Array({ maxLength: 300 }).map((b) => new Uint8Array([...good.subarray(0, 8), ...b]));
    fc.assert(
      fc.property(fc.oneof(mutated, junk, fc.uint8Array({ maxLength: 64 })), (bytes) => {
        const r = parseGraphPng(bytes);
        expect(r.doc !== undefined || r.errors.length > 0).toBe(true);
        try {
          graphTextFromPng(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(PngError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
