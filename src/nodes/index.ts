/** Every built-in node kind, one file per family. */
import { Registry, type AnyNodeKind } from '../runtime/index.ts';
import { Discriminate, Discriminator } from './gan.ts';
import { Add, Lerp, Scale } from './math.ts';
import { ImageOutput, TensorOutput } from './outputs.ts';
import { Constant, NoiseSource } from './sources.ts';
import { Reparameterize, VAE, VAEDecode, VAEEncode } from './vae.ts';

export const builtinKinds: AnyNodeKind[] = [NoiseSource, Constant, Add, Scale, Lerp, ImageOutput, TensorOutput, VAE, VAEEncode, VAEDecode, Reparameterize, Discriminator, Discriminate];

/** A fresh registry holding every built-in kind (add your own with .register()). */
export const createRegistry = (): Registry => new Registry(builtinKinds);

export { NoiseSource, Constant, Add, Scale, Lerp, ImageOutput, TensorOutput, VAE, VAEEncode, VAEDecode, Reparameterize, Discriminator, Discriminate };
