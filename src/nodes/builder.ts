/**
 * What every builder node (TextEncoder, UNet, VAE, Discriminator, flows) shares: a seed, an
 * optional weights file, and the build step: one forward pass on a tiny input creates every
 * parameter (see ModelHandle), then the handle is frozen and weights are loaded by name.
 */
import * as tf from '@tensorflow/tfjs';
import { hashBytes, parseSafetensors, SafetensorsError, textParam, type FingerprintContext, type ModelHandle } from '../runtime/index.ts';

export const weightsParam = () =>
  textParam('', { doc: 'a safetensors file with this model’s weights (relative to the graph); empty: initialise from the seed', maxLength: 1000 });

/** The weights file's digest enters the builder's cache key: a changed file is a changed model. */
export async function weightsFingerprint(params: { weights: string }, ctx: FingerprintContext): Promise<string> {
  return params.weights ? `weights:${hashBytes(await ctx.readFile(params.weights))}` : '';
}

/**
 * Run `dryRun` once (inside tidy, so its activations are freed) to create the parameters, freeze
 * the handle, then load `weights` if named. On any failure the half-built handle is disposed.
 */
export async function build(m: ModelHandle, dryRun: () => void, weights: string, readFile: (path: string) => Promise<Uint8Array>): Promise<ModelHandle> {
  try {
    tf.tidy(() => void dryRun()); // whatever the dry run returns is not kept
    m.freeze();
    if (weights) {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(weights);
      } catch (err) {
        throw new Error(`cannot read weights "${weights}": ${(err as Error).message}`);
      }
      try {
        m.loadWeights(parseSafetensors(bytes).tensors);
      } catch (err) {
        throw new Error(`weights "${weights}": ${err instanceof SafetensorsError ? err.message : (err as Error).message}`);
      }
      m.version = 0; // the file's digest is already in this builder's cache key
    }
    return m;
  } catch (err) {
    m.dispose();
    throw err;
  }
}
