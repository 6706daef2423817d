import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, SafetensorsError, serializeSafetensors, type NamedTensor } from './safetensors.ts';

const f32 = (shape: number[], values: number[]): NamedTensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });

/** Build a file by hand from a header object and a data section. */
function file(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips tensors and metadata, with the data aligned to 8 bytes', () => {
    const bytes = serializeSafetensors({ 'b.w': f32([2, 2], [1, -2, 3.5, 4]), 'a.bias': f32([3], [0.25, 0, -1]), 'é': f32([1], [7]) }, { format: 'pt' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const { tensors, metadata } = parseSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()].sort()).toEqual(['a.bias', 'b.w', 'é']);
    expect(Array.from(tensors.get('b.w')!.data)).toEqual([1, -2, 3.5, 4]);
    expect(tensors.get('b.w')!.shape).toEqual([2, 2]);
  });

  it('decodes F16 and BF16 to float32', () => {
    const data = new Uint8Array(8);
    const v = new DataView(data.buffer);
    v.setUint16(0, 0x3c00, true); // f16 1.0
    v.setUint16(2, 0xc000, true); // f16 -2.0
    v.setUint16(4, 0x3f80, true); // bf16 1.0
    v.setUint16(6, 0x4049, true); // bf16 3.140625
    const { tensors } = parseSafetensors(
      file({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] } }, data),
    );
    expect(Array.from(tensors.get('h')!.data)).toEqual([1, -2]);
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, 3.140625]);
  });

  const refusals: Array<[string, Uint8Array, RegExp]> = [
    ['a file shorter than its header length', file({}, undefined, 10n ** 12n), /header length .* exceeds/],
    ['a truncated file', new Uint8Array([1, 2, 3]), /too short/],
    ['a header that is not JSON', (() => { const f = file({ a: 1 }); f[8] = 0x7b; f[9] = 0x7b; return f; })(), /not valid UTF-8 JSON/],
    ['an unknown dtype', file({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w": unsupported dtype "F64"/],
    ['offsets past the end', file({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /tensor "w": data_offsets \[0, 16\] fall outside/],
    ['a size that disagrees with the shape', file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w": holds 8 bytes, but F32\[3\] needs 12/],
    ['overlapping tensors', file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)), /overlaps/],
    ['an absurd shape', file({ w: { dtype: 'F32', shape: [1e6, 1e6], data_offsets: [0, 4] } }, new Uint8Array(4)), /over the limit/],
    ['a negative dim', file({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /shape must be/],
    ['NaN weights', file({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array([0, 0, 0xc0, 0x7f])), /NaN/],
  ];
  for (const [what, bytes, message] of refusals) {
    it(`refuses ${what} with a SafetensorsError`, () => {
      expect(() => parseSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => parseSafetensors(bytes)).toThrow(message);
    });
  }

  it('random and corrupted bytes never escape as anything but a SafetensorsError', () => {
    const valid = serializeSafetensors({ w: f32([2, 3], [1, 2, 3, 4, 5, 6]), b: f32([3], [0, 0, 1]) });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (noise, flips) => {
        for (const bytes of [noise, flips.reduce((b, [i, v]) => ((b[i] = v), b), valid.slice())]) {
          try {
            parseSafetensors(bytes);
          } catch (err) {
            if (!(err instanceof SafetensorsError)) throw err;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
