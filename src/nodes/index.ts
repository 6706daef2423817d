/** Every built-in node kind, one file per family. */
import { Registry, type AnyNodeKind } from '../runtime/index.ts';
import { Add, Lerp, Scale } from './math.ts';
import { ImageOutput, TensorOutput } from './outputs.ts';
import { Constant, NoiseSource } from './sources.ts';

export const builtinKinds: AnyNodeKind[] = [NoiseSource, Constant, Add, Scale, Lerp, ImageOutput, TensorOutput];

/** A fresh registry holding every built-in kind (add your own with .register()). */
export const createRegistry = (): Registry => new Registry(builtinKinds);

export { NoiseSource, Constant, Add, Scale, Lerp, ImageOutput, TensorOutput };
