/** graphs/mnist-vae.json, scored by the judge on its prior samples. */
import type { Example } from './example.ts';
import { priorScore } from './_scores.ts';

const example: Example = { name: 'vae', graph: 'graphs/mnist-vae.json', evaluate: priorScore };
export default example;
