/** The MNIST judge (graphs/mnist-judge.json): its accuracy on the 1,000 test digits. First, since the others' scores use it. */
import type { Example } from './example.ts';

const example: Example = {
  name: 'judge',
  graph: 'graphs/mnist-judge.json',
  order: 0,
  evaluate: async ({ rt, doc, baseDir }) => {
    const res = await rt.run(doc, { outputs: ['testAccuracy', 'score'], baseDir });
    return {
      'test accuracy (1,000 test digits)': res.outputs.testAccuracy.mean as number,
      'Inception-style score of the test digits': res.outputs.score.mean as number,
    };
  },
};
export default example;
