/**
 * Latent diffusion, stage 1 (graphs/mnist-ldm-autoencoder.json): the KL-regularised autoencoder
 * whose latent space the stage-2 U-Net (ldm.ts, trained after this) works in. Scored on the 1,000
 * test digits: the reconstruction BCE of the decoded posterior means, and the spread of those
 * means, whose std σ_z sets the scale the stage-2 graph applies (toLatent = 1/σ_z, as Rombach et
 * al. 2022 rescale latents to unit variance before diffusion).
 */
import { setParam, type TensorData } from '../../src/index.ts';
import type { EvalContext, Example } from './example.ts';

export async function autoencoderFigures({ rt, doc, baseDir }: EvalContext): Promise<Record<string, number>> {
  const d = setParam(doc, 'testDigits', 'batchSize', 1000);
  const res = await rt.run(d, { outputs: ['originals', 'reconstructions', 'latents'], baseDir });
  const x = res.outputs.originals.image as TensorData;
  const y = res.outputs.reconstructions.image as TensorData;
  let bce = 0;
  for (let i = 0; i < x.data.length; i++) {
    const p = Math.min(Math.max(y.data[i], 1e-7), 1 - 1e-7);
    bce -= x.data[i] * Math.log(p) + (1 - x.data[i]) * Math.log(1 - p);
  }
  return {
    'test reconstruction BCE (nats per digit, 1,000 test digits)': bce / x.shape[0],
    'latent mean (posterior means of the test digits)': res.outputs.latents.mean as number,
    'latent std σ_z (stage 2 scales by 1/σ_z)': res.outputs.latents.std as number,
  };
}

const example: Example = { name: 'ldm-autoencoder', graph: 'graphs/mnist-ldm-autoencoder.json', order: 50, evaluate: autoencoderFigures };
export default example;
