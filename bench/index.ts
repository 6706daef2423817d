/**
 * `npm run bench`: each figure is measured in this one run, on the wasm backend, as the median
 * of several repeats after warm-up. Sections live in bench/sections/, each an async function
 * returning rows; add one to SECTIONS to extend the bench. A section throws BenchCheckError when
 * its numbers are wrong (the bench then exits 1); a missed target only marks its row.
 */
import * as tf from '@tensorflow/tfjs';
import { createRuntime } from '../src/index.ts';
import { BenchCheckError, numTensors, type BenchContext, type Row, type Section } from './lib.ts';
import { cachedRerun } from './sections/cached-rerun.ts';
import { compileSpeed } from './sections/compile.ts';
import { editorSpeed } from './sections/editor.ts';
import { overhead } from './sections/overhead.ts';
import { samplerSpeed } from './sections/sampler.ts';
import { trainingSpeed } from './sections/training.ts';

const SECTIONS: Section[] = [
  { name: 'overhead', run: overhead },
  { name: 'cached rerun', run: cachedRerun },
  { name: 'compile', run: compileSpeed },
  { name: 'sampler', run: samplerSpeed },
  { name: 'training', run: trainingSpeed },
  { name: 'editor', run: editorSpeed },
];

function printTable(rows: Row[]): void {
  const cells = rows.map((r) => [
    r.section,
    r.metric,
    `${r.value}${r.unit && r.unit !== 'x' ? ` ${r.unit}` : r.unit ?? ''}`,
    r.target ? `${r.target} ${r.ok ? 'ok' : 'MISSED'}` : '',
    r.note ?? '',
  ]);
  const head = ['section', 'metric', 'value', 'target', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  let last = '';
  for (const c of cells) {
    console.log(line(c[0] === last ? ['', ...c.slice(1)] : c));
    last = c[0];
  }
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const ctx: BenchContext = { backend: 'wasm', repeats: 25, warmup: 4 };
  // Start the backend before counting tensors, so the first count is the backend's own baseline.
  const probe = await createRuntime({ backend: ctx.backend });
  console.log(`weft bench: backend ${probe.backend.name} (${probe.backend.reason}), tfjs ${tf.version.tfjs}, node ${process.version}`);
  console.log('each figure: the median of repeats after warm-up runs, both sides timed in alternating rounds (counts in the notes)\n');
  probe.dispose();

  const t0 = performance.now();
  const startTensors = numTensors();
  const rows: Row[] = [];
  let failed = false;
  for (const s of SECTIONS) {
    if (only.length && !only.includes(s.name)) continue;
    try {
      rows.push(...(await s.run(ctx)));
    } catch (err) {
      failed = true;
      const why = err instanceof BenchCheckError ? err.message : (err as Error).stack ?? String(err);
      rows.push({ section: s.name, metric: 'FAILED', value: '-', note: why });
    }
  }
  const endTensors = numTensors();
  rows.push({ section: 'memory', metric: 'tf.memory().numTensors before / after', value: `${startTensors} / ${endTensors}`, target: 'equal', ok: startTensors === endTensors });
  rows.push({ section: 'memory', metric: 'bench wall time', value: Math.round((performance.now() - t0) / 1000), unit: 's' });
  printTable(rows);
  if (startTensors !== endTensors) failed = true;
  return failed ? 1 : 0;
}

process.exitCode = await main();
