/**
 * Model handles: what builder nodes (TextEncoder, UNet, VAE, Discriminator, flows) output and
 * apply nodes call, as ComfyUI passes MODEL/VAE/CLIP. A handle owns named tf.Variables.
 *
 * Parameters are declared where they are used: a forward function asks `m.param(name, shape,
 * init)` and gets the variable, created on first use. A builder runs one forward pass on a tiny
 * input to create them all, then freezes the handle (a later unknown name is a bug and throws),
 * and loads weights by name. So a model's parameter list is written once, in its forward code.
 *
 * Initialisation is deterministic: each parameter draws from tfjs's seeded generator with a seed
 * derived from (model seed, parameter name), identical on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { hashString } from './hash.ts';
import { tfSeed } from './random.ts';
import type { NamedTensor } from './safetensors.ts';
import type { Resource } from './values.ts';

export type Init = 'glorot' | 'zeros' | 'ones' | { std: number } | { uniform: [number, number] } | { value: number };

let nextUid = 1;

export class ModelHandle implements Resource {
  readonly resource = 'model';
  readonly uid = nextUid++;
  private readonly vars = new Map<string, tf.Variable>();
  private frozen = false;
  /** Bumped by every optimizer step and weight load, so cache keys never serve stale results. */
  version = 0;

  constructor(
    /** The model family ('unet', 'vae', 'text-encoder', 'discriminator', 'flow'): port types check it. */
    readonly model: string,
    readonly config: Readonly<Record<string, unknown>>,
    readonly seed: number,
  ) {}

  /** The variable `name`, created with `init` on first use (before the handle is frozen). */
  param(name: string, shape: number[], init: Init = 'glorot'): tf.Variable {
    const existing = this.vars.get(name);
    if (existing) {
      if (!sameShape(existing.shape, shape)) {
        throw new Error(`${this.model} parameter "${name}" is [${existing.shape}] but was asked for as [${shape}]`);
      }
      return existing;
    }
    if (this.frozen) throw new Error(`${this.model} has no parameter "${name}" (the model was built without it)`);
    const v = tf.tidy(() => tf.variable(initialValue(shape, init, paramSeed(this.seed, name)), true));
    this.vars.set(name, v);
    return v;
  }

  /** Stop creating parameters: from now on every name must already exist. */
  freeze(): this {
    this.frozen = true;
    return this;
  }

  names(): string[] {
    return [...this.vars.keys()].sort();
  }

  variables(): tf.Variable[] {
    return this.names().map((n) => this.vars.get(n)!);
  }

  get(name: string): tf.Variable | undefined {
    return this.vars.get(name);
  }

  /** Assign weights by name. Every parameter must be present with its exact shape; nothing extra. */
  loadWeights(tensors: Map<string, NamedTensor>): void {
    const problems: string[] = [];
    for (const name of this.names()) {
      const t = tensors.get(name);
      const v = this.vars.get(name)!;
      if (!t) problems.push(`missing tensor "${name}" [${v.shape}]`);
      else if (!sameShape(t.shape, v.shape)) problems.push(`tensor "${name}" is [${t.shape}], the model needs [${v.shape}]`);
      else if (t.dtype !== 'float32') problems.push(`tensor "${name}" is ${t.dtype}, the model needs float32`);
    }
    for (const name of tensors.keys()) if (!this.vars.has(name)) problems.push(`unexpected tensor "${name}" (not a parameter of this ${this.model})`);
    if (problems.length) throw new Error(`weights do not fit this ${this.model}: ${problems.join('; ')}`);
    for (const name of this.names()) {
      const t = tensors.get(name)!;
      tf.tidy(() => this.vars.get(name)!.assign(tf.tensor(t.data, t.shape, 'float32')));
    }
    this.version++;
  }

  /** Read every parameter back, for saving as safetensors. */
  async exportWeights(): Promise<Map<string, NamedTensor>> {
    const out = new Map<string, NamedTensor>();
    for (const name of this.names()) {
      const v = this.vars.get(name)!;
      out.set(name, { dtype: 'float32', shape: [...v.shape], data: (await v.data()) as Float32Array });
    }
    return out;
  }

  parameterCount(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  bytes(): number {
    return this.parameterCount() * 4;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

export function isModel(v: unknown, model?: string): v is ModelHandle {
  return v instanceof ModelHandle && (!model || v.model === model);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A 31-bit seed per parameter from (model seed, name). */
export function paramSeed(seed: number, name: string): number {
  return parseInt(hashString(`${seed}:${name}`).slice(0, 6), 36) % 2 ** 31;
}

function initialValue(shape: number[], init: Init, seed: number): tf.Tensor {
  if (init === 'zeros') return tf.zeros(shape);
  if (init === 'ones') return tf.ones(shape);
  if (typeof init === 'object' && 'value' in init) return tf.fill(shape, init.value);
  if (typeof init === 'object' && 'uniform' in init) return tf.randomUniform(shape, init.uniform[0], init.uniform[1], 'float32', tfSeed(seed));
  let std: number;
  if (init === 'glorot') {
    // Glorot/Xavier normal: std = sqrt(2 / (fan_in + fan_out)); conv kernels are [kh, kw, in, out].
    const receptive = shape.length > 2 ? shape.slice(0, -2).reduce((a, b) => a * b, 1) : 1;
    const fanIn = (shape.length >= 2 ? shape[shape.length - 2] : shape[0]) * receptive;
    const fanOut = shape[shape.length - 1] * receptive;
    std = Math.sqrt(2 / (fanIn + fanOut));
  } else std = init.std;
  return tf.randomNormal(shape, 0, std, 'float32', tfSeed(seed));
}
