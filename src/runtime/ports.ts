/**
 * Port types. A port's type is data: the type checker, the handle colour in the editor and the
 * generated node reference all read it. Tensor shapes use named or unknown dims:
 * a number is fixed, a string names a dim shared by ports of the same node ('N'), null is unknown.
 */

export type Dim = number | string | null;
export type Shape = Dim[];
export type DType = 'float32' | 'int32' | 'bool';

export type PortType =
  | { kind: 'tensor'; dtype: DType | 'any'; shape?: Shape }
  /** `config`: a builder's resolved config, so apply nodes can check shapes at compile time. */
  | { kind: 'model'; model?: string; config?: object }
  | { kind: 'scheduler' }
  | { kind: 'text' }
  | { kind: 'dataset' }
  | { kind: 'scalar' }
  | { kind: 'optimizer' };

export type PortKind = PortType['kind'];

export type PortSpec = PortType & {
  /** Takes any number of edges (an optimizer's models, a sum's terms). Inputs only. */
  multi?: boolean;
  /** May be left unconnected. Inputs only. */
  optional?: boolean;
  doc?: string;
};

interface PortOpts {
  multi?: boolean;
  optional?: boolean;
  doc?: string;
}

export function tensor(shape?: Shape, opts: PortOpts & { dtype?: DType | 'any' } = {}): PortSpec & { kind: 'tensor' } {
  const { dtype = 'float32', ...rest } = opts;
  return { kind: 'tensor', dtype, ...(shape ? { shape: [...shape] } : {}), ...rest };
}
export const model = (name?: string, opts: PortOpts = {}): PortSpec => ({ kind: 'model', ...(name ? { model: name } : {}), ...opts });
export const scheduler = (opts: PortOpts = {}): PortSpec => ({ kind: 'scheduler', ...opts });
export const text = (opts: PortOpts = {}): PortSpec => ({ kind: 'text', ...opts });
export const dataset = (opts: PortOpts = {}): PortSpec => ({ kind: 'dataset', ...opts });
export const scalar = (opts: PortOpts = {}): PortSpec => ({ kind: 'scalar', ...opts });
export const optimizer = (opts: PortOpts = {}): PortSpec => ({ kind: 'optimizer', ...opts });

/** Colours shared by the editor's handles and the docs. */
export const PORT_COLORS: Record<PortKind, string> = {
  tensor: '#4fa3ff',
  model: '#c678dd',
  scheduler: '#e5a04b',
  text: '#7ec16e',
  dataset: '#e06c75',
  scalar: '#d7d7d7',
  optimizer: '#f0d060',
};

export function describeType(t: PortType): string {
  switch (t.kind) {
    case 'tensor':
      return `tensor${t.dtype !== 'float32' ? `<${t.dtype}>` : ''}${t.shape ? formatShape(t.shape) : ''}`;
    case 'model':
      return t.model ? `model<${t.model}>` : 'model';
    default:
      return t.kind;
  }
}

export function formatShape(shape: Shape): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** Why a value of type `from` cannot flow into a port of type `to`, or null when it can. */
export function typeMismatch(from: PortType, to: PortType): string | null {
  if (from.kind !== to.kind) return `expects ${describeType(to)}, got ${describeType(from)}`;
  if (from.kind === 'tensor' && to.kind === 'tensor') {
    if (to.dtype !== 'any' && from.dtype !== 'any' && from.dtype !== to.dtype) {
      return `expects a ${to.dtype} tensor, got ${from.dtype}`;
    }
  }
  if (from.kind === 'model' && to.kind === 'model' && to.model && from.model && to.model !== from.model) {
    return `expects a ${to.model} model, got a ${from.model} model`;
  }
  return null;
}

/** Why a concrete shape does not fit a declared one, or null. Named dims bind within `names`. */
export function shapeMismatch(actual: Shape, declared: Shape, names: Map<string, Dim> = new Map()): string | null {
  if (actual.length !== declared.length) {
    return `expects rank ${declared.length} ${formatShape(declared)}, got rank ${actual.length} ${formatShape(actual)}`;
  }
  for (let i = 0; i < declared.length; i++) {
    const want = declared[i];
    const got = actual[i];
    if (want === null || got === null) continue;
    if (typeof want === 'string') {
      const bound = names.get(want);
      if (bound === undefined || bound === null || typeof got === 'string') names.set(want, got);
      else if (bound !== got) return `dim ${i} (${want}) must be ${bound} to match another port, got ${got}`;
      continue;
    }
    if (typeof got === 'number' && got !== want) {
      return `expects ${formatShape(declared)}, got ${formatShape(actual)} (dim ${i} is ${got}, not ${want})`;
    }
  }
  return null;
}

export function elementCount(shape: Shape): number | null {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return null;
    n *= d;
  }
  return n;
}

/** NumPy broadcasting over possibly-unknown dims; returns the result shape or why it fails. */
export function broadcastShapes(a: Shape, b: Shape): Shape | string {
  const rank = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return `shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (${x} vs ${y})`;
      out.push(x);
    } else out.push(typeof x === 'number' ? x : typeof y === 'number' ? y : x ?? y);
  }
  return out;
}
