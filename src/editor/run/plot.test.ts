/** Plot geometry: where each loss value and each point lands on the canvas. */
import { describe, expect, it } from 'vitest';
import { PALETTE, plotGeometry } from './plot.ts';

describe('plotGeometry', () => {
  it('a falling loss runs from the top left to the bottom right of its box', () => {
    const g = plotGeometry({ lines: [{ name: 'opt', values: [4, 3, 2, 1] }] }, 200, 100);
    const b = g.lineBox!;
    const path = g.lines[0].paths[0];
    expect(path).toHaveLength(4);
    expect(path[0]).toEqual([b.left, b.top]);
    expect(path[3]).toEqual([b.left + b.width, b.top + b.height]);
    expect(g.yRange).toEqual([1, 4]);
    expect(g.lines[0].last).toBe(1);
  });

  it('on a log scale each decade is the same height; non-finite values break the line', () => {
    const g = plotGeometry({ lines: [{ name: 'l', values: [100, 10, Number.NaN, 1] }], logScale: true }, 200, 100);
    const b = g.lineBox!;
    const [first, second] = g.lines[0].paths;
    expect(first.map(([, y]) => y)).toEqual([b.top, b.top + b.height / 2]);
    expect(second).toEqual([[b.left + b.width, b.top + b.height]]);
    expect(g.yRange![0]).toBeCloseTo(1);
    expect(g.yRange![1]).toBeCloseTo(100);
  });

  it('a scatter gets its own panel below the lines, coloured by label', () => {
    const g = plotGeometry({ lines: [{ name: 'l', values: [1, 2] }], points: [0, 0, 1, 1, 0.5, 0.5], labels: [0, 1, 1] }, 200, 200);
    expect(g.scatterBox!.top).toBeGreaterThan(g.lineBox!.top + g.lineBox!.height);
    expect(g.dots.map((d) => d.color)).toEqual([PALETTE[0], PALETTE[1], PALETTE[1]]);
    const s = g.scatterBox!;
    expect(g.dots[2].x).toBeCloseTo(s.left + s.width / 2);
    expect(g.dots[0].y).toBeGreaterThan(g.dots[1].y); // y grows upwards
  });

  it('nothing to draw gives no panels', () => {
    expect(plotGeometry({ lines: [] }, 100, 100)).toEqual({ lines: [], dots: [] });
  });
});
