/** graphs/moons-flow.json: test NLL against one Gaussian fitted to the training points. */
import { moonsGaussianNll } from '../../src/eval.ts';
import type { Example } from './example.ts';

const example: Example = {
  name: 'flow',
  graph: 'graphs/moons-flow.json',
  evaluate: async ({ rt, doc, baseDir }) => {
    const res = await rt.run(doc, { outputs: ['testLoss'], baseDir });
    return {
      'test NLL, flow (nats/point, the 2,000 test points)': res.outputs.testLoss.mean as number,
      'test NLL, one Gaussian fitted to the 10,000 training points': moonsGaussianNll(),
    };
  },
};
export default example;
