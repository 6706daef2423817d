/**
 * The torch-compatible generator against numbers printed by PyTorch 1.13 (CPU):
 *   torch.manual_seed(0); torch.randn(4, 3, 8, 8); torch.randn(4, 3, 8, 8)
 *   torch.manual_seed(0); torch.randn(5); torch.randn(3); torch.randn(20)
 *   torch.manual_seed(7); torch.randn(17)
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TorchGenerator, torchNoise } from './torch-random.ts';

const close = (got: ArrayLike<number>, want: number[], tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(tol);
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('torch.randn, reproduced', () => {
  it('a (4, 3, 8, 8) draw after manual_seed(0) gives torch numbers, and the next draw continues the stream', () => {
    const g = new TorchGenerator(0);
    const a = g.randn(768);
    close(a.slice(0, 20), [
      -1.1258398294448853, -1.152360200881958, -0.2505785822868347, -0.4338788092136383, 0.8487103581428528, 0.6920091509819031,
      -0.31601276993751526, -2.1152193546295166, 0.32227492332458496, -1.2633347511291504, 0.34998318552970886, 0.30813392996788025,
      0.11984150856733322, 1.237657904624939, 1.1167771816253662, -0.2472781538963318, -1.3526537418365479, -1.6959311962127686,
      0.5666506290435791, 0.7935083508491516,
    ]);
    close(a.slice(-5), [-0.4097461700439453, -0.7386032938957214, 1.6552757024765015, 0.5203717947006226, -0.23261602222919464]);
    expect(Math.abs(a.reduce((s, v) => s + v, 0) - 47.871551513671875)).toBeLessThan(1e-3);
    close(g.randn(768).slice(0, 3), [0.4974166452884674, 0.2685222327709198, 1.4768786430358887]);
  });

  it('fewer than 16 values use the double Box–Muller pair, caching its second half', () => {
    const g = new TorchGenerator(0);
    close(g.randn(5), [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991, -1.0845223665237427]);
    close(g.randn(3), [-1.3985954523086548, 0.40334683656692505, 0.8380263447761536]);
    const c = g.randn(20);
    close(c.slice(0, 3), [-1.3526537418365479, -1.6959311962127686, 0.5666506290435791]);
    close(c.slice(-3), [0.08453469723463058, -1.2001394033432007, -0.004785737954080105]);
  });

  it('a count that is not a multiple of 16 redraws its last 16 values', () => {
    close(new TorchGenerator(7).randn(17).slice(-2), [-1.3597689867019653, -0.866701602935791]);
  });

  it('torchNoise puts torch’s (n, c, h, w) element at NHWC (n, h, w, c)', async () => {
    const nchw = new TorchGenerator(0).randn(4 * 3 * 8 * 8);
    const nhwc = torchNoise(0).normal([4, 8, 8, 3]);
    const data = await nhwc.data();
    // (n, c, h, w) = (1, 2, 3, 4)
    expect(data[((1 * 8 + 3) * 8 + 4) * 3 + 2]).toBe(nchw[((1 * 3 + 2) * 8 + 3) * 8 + 4]);
    nhwc.dispose();
  });
});
