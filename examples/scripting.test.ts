// How a user scripts a Weft graph in their own test suite: load, override a param, run, assert.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { createRuntime, loadGraph, setParam } from 'weft';

test('brightening the blend raises the mean pixel value by the same factor', async () => {
  const doc = loadGraph(readFileSync('graphs/noise-blend.json', 'utf8'));
  const rt = await createRuntime({ backend: 'wasm' });

  const base = await rt.run(doc, { outputs: ['stats'] });
  const brighter = await rt.run(setParam(doc, 'gain', 'factor', 2.4), { outputs: ['stats'] });

  expect(brighter.outputs.stats.mean).toBeCloseTo((base.outputs.stats.mean as number) * 2, 5);
  expect(brighter.nodes.blend.status).toBe('cached'); // only the edited node and what follows reran
  rt.dispose();
});
