/** Tensor thumbnails: images as images, latents channel by channel, everything else as a heat strip. */
import { describe, expect, it } from 'vitest';
import { imageGrid } from '../../runtime/index.ts';
import { colormap, tensorThumbnail } from './thumbnail.ts';

const td = (shape: number[], fn: (i: number) => number) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => fn(i)) };
};
const pixel = (img: { width: number; rgba: Uint8ClampedArray }, x: number, y: number) => Array.from(img.rgba.slice((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

describe('tensorThumbnail', () => {
  it('an RGB batch in [0, 1] is drawn as the image grid', () => {
    const t = td([2, 4, 4, 3], (i) => (i % 7) / 7);
    const th = tensorThumbnail(t);
    expect(th.kind).toBe('image');
    expect(th.image).toEqual(imageGrid(t));
  });

  it('latents are drawn channel by channel: item n, channel c is a grey H×W tile from min to max', () => {
    // [2, 2, 3, 4]: channel c of item n holds n·10 + c everywhere
    const t = td([2, 2, 3, 4], (i) => Math.floor(i / 24) * 10 + (i % 4));
    const th = tensorThumbnail(t);
    expect(th.kind).toBe('channels');
    expect(th.caption).toContain('by channel');
    const img = th.image!;
    expect([img.width, img.height]).toEqual([4 * 3 + 3, 2 * 2 + 1]);
    expect(pixel(img, 0, 0)).toEqual([0, 0, 0, 255]); // item 0, channel 0: the minimum
    expect(pixel(img, 3, 0)).toEqual([255, 255, 255, 255]); // the gap
    expect(pixel(img, 3 * 4 + 3 - 1, 2 * 2 + 1 - 1)).toEqual([255, 255, 255, 255]); // item 1, channel 3: the maximum
    expect(pixel(img, 4, 0)[0]).toBe(Math.round((1 / 13) * 255)); // item 0, channel 1
  });

  it('a 1-D tensor is a heat strip at least 12 pixels tall; signed values diverge around 0', () => {
    const th = tensorThumbnail(td([5], (i) => i - 2));
    expect(th.kind).toBe('heat');
    expect([th.image!.width, th.image!.height]).toEqual([5, 12]);
    expect(pixel(th.image!, 0, 0)).toEqual([0, 0, 255, 255]);
    expect(pixel(th.image!, 2, 11)).toEqual([255, 255, 255, 255]);
    expect(pixel(th.image!, 4, 5)).toEqual([255, 0, 0, 255]);
  });

  it('higher ranks merge their leading dims into rows; one value is just a number', () => {
    const th = tensorThumbnail(td([2, 3, 8], (i) => i));
    expect([th.image!.width, th.image!.height]).toEqual([8, 6 * 2]);
    expect(tensorThumbnail(td([], () => 0.25))).toMatchObject({ kind: 'value', caption: '0.25' });
    expect(colormap(0, 1)(Number.NaN)).toEqual([0, 0, 0]);
  });
});
