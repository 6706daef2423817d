/**
 * Backend choice. `auto` takes WebGPU only on a hardware adapter; a software (fallback) adapter
 * such as SwiftShader runs kernels on the CPU far slower than wasm, so auto prefers wasm there and
 * says so. Each choice comes with the reason, for the run panel and the CLI.
 */
import * as tf from '@tensorflow/tfjs';
import { registerKernels } from './kernels/index.ts';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';
export type BackendRequest = BackendName | 'auto';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
  fallback: boolean;
}

export interface BackendInfo {
  name: BackendName;
  reason: string;
  adapter?: AdapterDescription;
}

/** What differs between Node and the browser: where wasm binaries live, how to reach WebGPU. */
export interface Platform {
  name: string;
  /** Whether `auto` should consider WebGPU at all (Node defaults to wasm). */
  autoWebGPU: boolean;
  prepareWasm(): Promise<void>;
  /** The GPU object (navigator.gpu) or undefined, set up so tfjs's webgpu backend can use it. */
  getGPU(): Promise<GPU | undefined>;
  /** Imports the tfjs webgpu backend once navigator.gpu is in place. */
  loadWebGPUBackend(): Promise<void>;
  /** Bytes of a file a graph refers to (a weights file), relative to `baseDir` when given. */
  readFile(path: string, baseDir?: string): Promise<Uint8Array>;
}

export async function describeAdapter(gpu: GPU | undefined): Promise<AdapterDescription | undefined> {
  if (!gpu) return undefined;
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    return undefined;
  }
  if (!adapter) return undefined;
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).info;
  const legacyFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const architecture = info?.architecture ?? '';
  const fallback = !!(info?.isFallbackAdapter ?? legacyFallback) || /swiftshader|llvmpipe|software/i.test(`${architecture} ${info?.description ?? ''}`);
  return { vendor: info?.vendor ?? '', architecture, description: info?.description ?? '', fallback };
}

/** An adapter in words: vendor, architecture, description. */
export const adapterName = (a: AdapterDescription) => [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unnamed adapter';

async function activate(name: BackendName, platform: Platform): Promise<void> {
  if (name === 'wasm') await platform.prepareWasm();
  if (name === 'webgpu') await platform.loadWebGPUBackend();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs could not initialise the ${name} backend`);
  await tf.ready();
  // Gradient kernels tfjs 4.22 lacks or gets wrong on this backend (kernels/index.ts); after
  // setBackend, so the backend's own kernels are in place first. Idempotent.
  registerKernels(name);
}

export async function selectBackend(request: BackendRequest, platform: Platform): Promise<BackendInfo> {
  if (request === 'cpu') {
    await activate('cpu', platform);
    return { name: 'cpu', reason: 'cpu requested' };
  }
  if (request === 'wasm') {
    await activate('wasm', platform);
    return { name: 'wasm', reason: 'wasm requested' };
  }
  if (request === 'webgpu') {
    const gpu = await platform.getGPU();
    const adapter = await describeAdapter(gpu);
    if (!adapter) throw new Error(`WebGPU requested, but ${platform.name} offers no WebGPU adapter`);
    await activate('webgpu', platform);
    return { name: 'webgpu', reason: `webgpu requested (${adapter.fallback ? 'software' : 'hardware'} adapter: ${adapterName(adapter)})`, adapter };
  }
  // auto
  let why = `${platform.name}: wasm is the default`;
  let adapter: AdapterDescription | undefined;
  if (platform.autoWebGPU) {
    adapter = await describeAdapter(await platform.getGPU());
    if (adapter && !adapter.fallback) {
      try {
        await activate('webgpu', platform);
        return { name: 'webgpu', reason: `hardware WebGPU adapter: ${adapterName(adapter)}`, adapter };
      } catch (err) {
        why = `WebGPU failed to start (${(err as Error).message})`;
      }
    } else why = adapter ? `software adapter (${adapterName(adapter)}): using wasm` : 'no WebGPU adapter: using wasm';
  }
  try {
    await activate('wasm', platform);
    return { name: 'wasm', reason: why, ...(adapter ? { adapter } : {}) };
  } catch (err) {
    await activate('cpu', platform);
    return { name: 'cpu', reason: `${why}; wasm unavailable (${(err as Error).message}): using cpu` };
  }
}
