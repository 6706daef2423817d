/**
 * Turning a run's outputs into files: an image display value (a sink's `image` port, [N, H, W, C]
 * with C = 1, 3 or 4) becomes `<node>.png`, drawn by the same imageGrid the editor uses; every
 * other value of the node goes into `<node>.json`, numbers as numbers and tensors as shape,
 * dtype and statistics (with the data itself when small).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { toJson } from './common.ts';
import { imageGrid, type OutputValue, type Plan, type RunResult, type TensorData } from '../index.ts';

/** Tensors up to this many elements carry their data in the JSON. */
export const MAX_INLINE_ELEMENTS = 4096;

export interface TensorSummary {
  shape: number[];
  dtype: string;
  stats: { mean: number; std: number; min: number; max: number } | null;
  data?: number[];
}

export interface ImageSummary extends TensorSummary {
  file?: string;
  width: number;
  height: number;
}

export interface NodeOutputs {
  files: string[];
  values: Record<string, unknown>;
}

const isTensorData = (v: unknown): v is TensorData =>
  typeof v === 'object' && v !== null && Array.isArray((v as TensorData).shape) && ArrayBuffer.isView((v as TensorData).data);

export const isImageBatch = (v: unknown): v is TensorData => isTensorData(v) && v.shape.length === 4 && [1, 3, 4].includes(v.shape[3]);

/** Population statistics in float64, so a mean compares across backends to 1e-4 and better. */
export function tensorStats(data: ArrayLike<number>): TensorSummary['stats'] {
  const n = data.length;
  if (n === 0) return null;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = data[i];
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (data[i] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / n), min, max };
}

export function summarizeTensor(t: TensorData): TensorSummary {
  const numeric = t.dtype !== 'string';
  const size = t.shape.reduce((a, b) => a * b, 1);
  return {
    shape: [...t.shape],
    dtype: t.dtype,
    stats: numeric ? tensorStats(t.data) : null,
    ...(numeric && size <= MAX_INLINE_ELEMENTS ? { data: Array.from(t.data as ArrayLike<number>) } : {}),
  };
}

/** A value as plain JSON: tensors summarized, everything else as it is. */
export function summarize(v: OutputValue | OutputValue[]): unknown {
  if (Array.isArray(v)) return (v as OutputValue[]).map((x) => summarize(x));
  return isTensorData(v) ? summarizeTensor(v) : v;
}

/** A file name from a node id (ids are free text; file names are not). */
export const fileStem = (nodeId: string): string => nodeId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || '_';

export function encodePng(img: TensorData, columns: number): { png: Buffer; width: number; height: number } {
  const { width, height, rgba } = imageGrid(img, columns);
  const png = PNG.sync.write({ width, height, data: Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength) } as PNG);
  return { png, width, height };
}

/**
 * Summaries of every output node, writing files into `outDir` when one is given.
 * A value is a picture only on a sink's `image` port: a TensorOutput of an image-shaped
 * tensor is still numbers.
 */
export function writeOutputs(result: RunResult, plan: Plan, outDir?: string): Record<string, NodeOutputs> {
  if (outDir) mkdirSync(outDir, { recursive: true });
  const report: Record<string, NodeOutputs> = {};
  for (const [nodeId, ports] of Object.entries(result.outputs)) {
    const node = plan.byId.get(nodeId);
    const columns = typeof node?.params.columns === 'number' ? node.params.columns : 0;
    const entry: NodeOutputs = { files: [], values: {} };
    const rest: Record<string, unknown> = {};
    for (const [port, value] of Object.entries(ports)) {
      if (port === 'image' && node?.kind.display.image && isImageBatch(value)) {
        const { png, width, height } = encodePng(value, columns);
        const image: ImageSummary = { ...summarizeTensor(value), width, height };
        delete image.data;
        if (outDir) {
          image.file = path.join(outDir, `${fileStem(nodeId)}.png`);
          writeFileSync(image.file, png);
          entry.files.push(image.file);
        }
        entry.values[port] = image;
      } else {
        rest[port] = summarize(value);
        entry.values[port] = rest[port];
      }
    }
    if (outDir && Object.keys(rest).length) {
      const file = path.join(outDir, `${fileStem(nodeId)}.json`);
      writeFileSync(file, toJson(rest) + '\n');
      entry.files.push(file);
    }
    report[nodeId] = entry;
  }
  return report;
}
