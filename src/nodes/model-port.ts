/**
 * Model port types that carry their builder's config, so an apply node can check shapes at compile
 * time, before anything is built: UNetPredict sees the U-Net's levels and context width, EncodeText
 * the encoder's width and length. A builder's `infer` returns `modelOf('unet', config)`; an apply
 * node's `infer` reads it back with `configOf`. The extra field is invisible to the type checker
 * (typeMismatch compares kind and family only), so a model without it still connects: then the
 * apply node checks what it can at run time.
 */
import type { PortType } from '../runtime/index.ts';

/** A model port type for `family` that remembers the builder's (resolved) config. */
export const modelOf = (family: string, config: object): PortType => ({ kind: 'model', model: family, config });

/** The config a builder attached to a model port type, or undefined (not connected, or unknown). */
export function configOf<C>(t: PortType | PortType[] | undefined): Partial<C> | undefined {
  if (!t || Array.isArray(t) || t.kind !== 'model') return undefined;
  return t.config as Partial<C> | undefined;
}

/** The fixed dims of a tensor port type, or undefined when the shape is unknown. */
export function shapeOf(t: PortType | PortType[] | undefined): (number | string | null)[] | undefined {
  return t && !Array.isArray(t) && t.kind === 'tensor' ? t.shape : undefined;
}
