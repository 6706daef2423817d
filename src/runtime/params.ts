/**
 * Param specs. One object both validates a param (a zod schema) and describes the widget that
 * edits it (kind, range, step, choices), so the inspector and the docs never restate a param.
 */
import { z } from 'zod';

/** The largest tensor a param may describe: 2^28 elements (1 GiB of float32). */
export const MAX_ELEMENTS = 2 ** 28;

interface Common {
  doc?: string;
  label?: string;
}

export type ParamSpec<T = unknown> = Common & {
  default: T;
  schema: z.ZodType<T>;
} & (
    | { kind: 'number'; min?: number; max?: number; step?: number }
    | { kind: 'int'; min?: number; max?: number; step?: number }
    | { kind: 'bool' }
    | { kind: 'enum'; options: readonly string[] }
    | { kind: 'text'; multiline?: boolean; maxLength: number }
    | { kind: 'seed' }
    | { kind: 'shape'; maxRank: number }
  );

export type ParamValues<P> = { [K in keyof P]: P[K] extends ParamSpec<infer T> ? T : never };

interface RangeOpts extends Common {
  min?: number;
  max?: number;
  step?: number;
}

function bounded(base: z.ZodNumber, o: RangeOpts): z.ZodNumber {
  let s = base;
  if (o.min !== undefined) s = s.min(o.min);
  if (o.max !== undefined) s = s.max(o.max);
  return s;
}

export function number(def: number, o: RangeOpts = {}): ParamSpec<number> {
  return { kind: 'number', default: def, schema: bounded(z.number(), o), ...o };
}

export function int(def: number, o: RangeOpts = {}): ParamSpec<number> {
  return { kind: 'int', default: def, schema: bounded(z.number().int(), o), step: 1, ...o };
}

export function bool(def: boolean, o: Common = {}): ParamSpec<boolean> {
  return { kind: 'bool', default: def, schema: z.boolean(), ...o };
}

export function enumParam<const T extends string>(options: readonly T[], def: T, o: Common = {}): ParamSpec<T> {
  const schema = z.string().refine((v) => (options as readonly string[]).includes(v), {
    message: `must be one of ${options.map((x) => `"${x}"`).join(', ')}`,
  }) as unknown as z.ZodType<T>;
  return { kind: 'enum', default: def, schema, options, ...o };
}

export function textParam(def: string, o: Common & { multiline?: boolean; maxLength?: number } = {}): ParamSpec<string> {
  const maxLength = o.maxLength ?? 10_000;
  return { kind: 'text', default: def, schema: z.string().max(maxLength), ...o, maxLength };
}

export function seedParam(def = 0, o: Common = {}): ParamSpec<number> {
  return { kind: 'seed', default: def, schema: z.number().int().min(0).max(2 ** 31 - 1), ...o };
}

export function shapeParam(def: number[], o: Common & { maxRank?: number } = {}): ParamSpec<number[]> {
  const maxRank = o.maxRank ?? 6;
  const schema = z
    .array(z.number().int().min(1, 'every dim must be at least 1'))
    .min(1)
    .max(maxRank)
    .refine((s) => s.reduce((a, b) => a * b, 1) <= MAX_ELEMENTS, {
      message: `describes more than ${MAX_ELEMENTS.toLocaleString('en-US')} elements`,
    });
  return { kind: 'shape', default: def, schema, ...o, maxRank };
}

/** Validate one param value; returns the parsed value or a message saying what was expected. */
export function checkParam(spec: ParamSpec, value: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  const r = spec.schema.safeParse(value);
  if (r.success) return { ok: true, value: r.data };
  const why = r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  return { ok: false, message: `${why} (got ${preview(value)})` };
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[...]' : '{...}'; // nested too deep to print (JSON.stringify overflows the stack)
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
