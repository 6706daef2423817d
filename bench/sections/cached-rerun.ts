/**
 * (b) The cache at work: after a run, editing only the last Scale's factor should rerun only that
 * node (everything upstream is a hit on its Merkle key). Compared with a cold run (cache cleared)
 * of the same graph. Each edited run gets a factor never used before, so "last" always misses.
 */
import { createRuntime, setParam, type TensorData } from '../../src/index.ts';
import { chainGraph } from '../graphs.ts';
import { BenchCheckError, maxAbsDiff, timeAll, numTensors, round, type BenchContext, type Row } from '../lib.ts';

export async function cachedRerun(ctx: BenchContext): Promise<Row[]> {
  const rt = await createRuntime({ backend: ctx.backend, cacheBytes: 256 * 2 ** 20 });
  const base = chainGraph({ shape: [8, 64, 64, 16], stages: 6 });
  const before = numTensors();
  let edit = 0;

  const cold = async () => {
    rt.clearCache();
    await rt.run(base, { outputs: ['last'] });
  };
  const edited = async () => {
    const res = await rt.run(setParam(base, 'last', 'factor', 0.5 + ++edit / 1000), { outputs: ['last'] });
    const ran = Object.entries(res.nodes).filter(([, r]) => r.status === 'ran').map(([id]) => id);
    if (ran.join() !== 'last') throw new BenchCheckError(`an edit of "last" reran [${ran.join(', ')}], expected only "last"`);
  };
  // `edited` needs the upstream entries: the first run fills the cache, and so does every cold run.
  await rt.run(base, { outputs: ['last'] });
  const ms = (await timeAll({ cold, edited }, ctx)).median;
  const [coldMs, editedMs] = [ms.cold, ms.edited];

  // The edited run must give exactly what a cold run of the edited graph gives.
  const probe = setParam(base, 'last', 'factor', 0.777);
  const read = async () => ((await rt.run(probe, { outputs: ['last'] })).outputs.last.out as TensorData).data;
  const fromCache = await read();
  rt.clearCache();
  const diff = maxAbsDiff(fromCache, await read());
  if (diff !== 0) throw new BenchCheckError(`a rerun served from the cache differs from a cold run by ${diff}`);

  const stats = rt.cacheStats();
  rt.dispose();
  const after = numTensors();
  if (after !== before) throw new BenchCheckError(`cached rerun: ${after - before} tensors leaked`);
  const section = 'cached rerun';
  return [
    { section, metric: 'cold run', value: round(coldMs), unit: 'ms', note: `${base.nodes.length} nodes, cache cleared first; median of ${ctx.repeats} after ${ctx.warmup} warm-up` },
    { section, metric: 'rerun after editing last Scale', value: round(editedMs), unit: 'ms', note: '1 node ran, the rest were cache hits' },
    { section, metric: 'edited / cold', value: round(editedMs / coldMs, 3), unit: 'x', note: `${round(coldMs / editedMs, 1)}x faster` },
    { section, metric: 'cache at the end', value: `${stats.entries} entries`, note: `${round(stats.bytes / 2 ** 20, 1)} MiB of a ${round(stats.budgetBytes / 2 ** 20, 0)} MiB budget; ${stats.hits} hits, ${stats.misses} misses` },
  ];
}
