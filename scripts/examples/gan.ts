/** graphs/mnist-gan.json, scored by the judge on its prior samples. */
import type { Example } from './example.ts';
import { priorScore } from './_scores.ts';

const example: Example = { name: 'gan', graph: 'graphs/mnist-gan.json', evaluate: priorScore };
export default example;
