/**
 * Opening files (the File menu's Import and a drop on the page): JSON or a Weft PNG opens as its
 * graph, everything else gives one readable error, never an exception.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { loadGraph, serializeGraph } from '../../graph/index.ts';
import { embedGraph } from '../../graph/png.ts';
import { uniqueName } from './db.ts';
import { fileStem, graphFromBytes, pickImage } from './files.ts';

const text = readFileSync(new URL('../../../graphs/noise-blend.json', import.meta.url), 'utf8');
const doc = loadGraph(text);
const plainPng = new Uint8Array(PNG.sync.write(new PNG({ width: 2, height: 2 })));
const bytes = (s: string) => new TextEncoder().encode(s);

describe('opening a file', () => {
  it('a graph JSON opens under its own name', () => {
    const r = graphFromBytes(bytes(text), 'blend.json');
    expect('doc' in r && serializeGraph(r.doc)).toBe(serializeGraph(doc));
    expect('name' in r && r.name).toBe('Noise blend');
  });

  it('a PNG exported by Weft opens as the graph inside it', () => {
    const r = graphFromBytes(embedGraph(plainPng, doc), 'preview.png');
    expect('doc' in r && serializeGraph(r.doc)).toBe(serializeGraph(doc));
  });

  it('an untitled graph takes the file name', () => {
    const r = graphFromBytes(bytes(JSON.stringify({ format: 'weft.graph', version: 1, nodes: [] })), 'my sketch.weft.json');
    expect('name' in r && r.name).toBe('my sketch');
  });

  it('a PNG without a graph, a binary file and a broken graph each give a readable error', () => {
    expect(graphFromBytes(plainPng, 'holiday.png')).toEqual({ error: expect.stringMatching(/holiday\.png:\n.*carries no Weft graph/) });
    expect(graphFromBytes(new Uint8Array([0xff, 0xfe, 0x00, 0x81]), 'x.bin')).toEqual({ error: 'x.bin is neither a graph (JSON) nor a PNG exported by Weft' });
    const dup = JSON.stringify({ format: 'weft.graph', version: 1, nodes: [{ id: 'a', type: 'X' }, { id: 'a', type: 'X' }] });
    expect(graphFromBytes(bytes(dup), 'dup.json')).toEqual({ error: expect.stringContaining('[duplicate-node-id] node "a"') });
  });

  it('fuzz: any bytes give a graph or an error string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 200 }).map(bytes)), (b) => {
        const r = graphFromBytes(b, 'f');
        expect('doc' in r || typeof r.error === 'string').toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('names', () => {
  it('library names are made unique by numbering', () => {
    expect(uniqueName('Alpha', [])).toBe('Alpha');
    expect(uniqueName('Alpha', ['Alpha', 'Alpha 2'])).toBe('Alpha 3');
    expect(uniqueName('  ', ['x'])).toBe('Untitled');
  });

  it('file names keep letters and digits of any script', () => {
    expect(fileStem('Blend, édité ✓')).toBe('Blend-édité');
    expect(fileStem('../../etc/passwd')).toBe('etc-passwd');
    expect(fileStem('')).toBe('graph');
  });

  it('Export PNG takes the chosen (or selected) ImageOutput, else "preview", else the first in graph order', () => {
    const img = { width: 1, height: 1, rgba: new Uint8ClampedArray(4) };
    expect(pickImage(doc, { other: img, preview: img }, ['gone', 'other'])).toBe('other');
    expect(pickImage(doc, { other: img, preview: img })).toBe('preview');
    expect(pickImage(doc, {})).toBeUndefined();
  });
});
