/**
 * What flows along edges at run time, and the one place that frees it (STYLE: every tensor has
 * exactly one owner; the plan and the cache call disposeValue, nothing else does).
 */
import * as tf from '@tensorflow/tfjs';

/** A non-tensor value that owns memory (a model handle, a dataset): it reports and frees it. */
export interface Resource {
  readonly resource: string;
  /** Bytes held, for the cache budget. */
  bytes(): number;
  dispose(): void;
  /** Mutable resources (trained models) bump this on every change; it enters downstream cache keys. */
  readonly uid?: number;
  version?: number;
}

export type Value = tf.Tensor | number | string | string[] | Resource;
export type Values = Record<string, Value | Value[]>;

export const isTensor = (v: unknown): v is tf.Tensor => v instanceof tf.Tensor;
export const isResource = (v: unknown): v is Resource =>
  typeof v === 'object' && v !== null && typeof (v as Resource).dispose === 'function' && typeof (v as Resource).resource === 'string';

function each(v: Value | Value[], fn: (x: Value) => void): void {
  if (Array.isArray(v) && !v.every((x) => typeof x === 'string')) (v as Value[]).forEach(fn);
  else fn(v as Value);
}

export function valueBytes(values: Values): number {
  let bytes = 0;
  for (const v of Object.values(values)) {
    each(v, (x) => {
      if (isTensor(x)) bytes += x.size * (x.dtype === 'complex64' ? 8 : 4);
      else if (isResource(x)) bytes += x.bytes();
    });
  }
  return bytes;
}

export function tensorsOf(values: Values): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  for (const v of Object.values(values)) each(v, (x) => isTensor(x) && out.push(x));
  return out;
}

export function disposeValues(values: Values): void {
  for (const v of Object.values(values)) {
    each(v, (x) => {
      if (isTensor(x)) {
        if (!x.isDisposed) x.dispose();
      } else if (isResource(x)) x.dispose();
    });
  }
}

/** A tensor read back to plain data: what results hand to callers (they never own tensors). */
export interface TensorData {
  shape: number[];
  dtype: string;
  data: Float32Array | Int32Array | Uint8Array;
}

export type OutputValue = TensorData | number | string | string[] | { resource: string };

export async function materialize(v: Value | Value[]): Promise<OutputValue | OutputValue[]> {
  if (Array.isArray(v) && !v.every((x) => typeof x === 'string')) {
    return Promise.all((v as Value[]).map((x) => materialize(x) as Promise<OutputValue>));
  }
  const x = v as Value;
  if (isTensor(x)) return { shape: [...x.shape], dtype: x.dtype, data: (await x.data()) as TensorData['data'] };
  if (isResource(x)) return { resource: x.resource };
  return x;
}
