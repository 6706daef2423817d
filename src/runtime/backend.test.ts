import { describe, expect, it } from 'vitest';
import { nodePlatform } from './platform-node.ts';
import { describeAdapter, selectBackend, type Platform } from './backend.ts';

/** A platform whose WebGPU adapter is whatever the test says, with real wasm/cpu underneath. */
function fakePlatform(info: Record<string, unknown> | null, extra: Partial<Platform> = {}): Platform {
  const gpu = { requestAdapter: async () => (info ? { info } : null) } as unknown as GPU;
  return { ...nodePlatform, name: 'test browser', autoWebGPU: true, getGPU: async () => gpu, ...extra };
}

describe('backend choice', () => {
  it('auto prefers wasm over a software WebGPU adapter, and says so', async () => {
    const chosen = await selectBackend('auto', fakePlatform({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true }));
    expect(chosen.name).toBe('wasm');
    expect(chosen.reason).toMatch(/software adapter \(google swiftshader\): using wasm/);
    expect(chosen.adapter?.fallback).toBe(true);
  });

  it('auto falls back to wasm when there is no adapter at all', async () => {
    const chosen = await selectBackend('auto', fakePlatform(null));
    expect(chosen).toMatchObject({ name: 'wasm', reason: 'no WebGPU adapter: using wasm' });
  });

  it('auto tries WebGPU on a hardware adapter and reports why it fell back when it cannot start', async () => {
    const chosen = await selectBackend(
      'auto',
      fakePlatform({ vendor: 'nvidia', architecture: 'hopper', isFallbackAdapter: false }, {
        loadWebGPUBackend: async () => {
          throw new Error('no device');
        },
      }),
    );
    expect(chosen.name).toBe('wasm');
    expect(chosen.reason).toContain('WebGPU failed to start (no device)');
  });

  it('auto falls back to cpu when wasm cannot load', async () => {
    const chosen = await selectBackend('auto', fakePlatform(null, { prepareWasm: async () => Promise.reject(new Error('no wasm here')) }));
    expect(chosen.name).toBe('cpu');
    expect(chosen.reason).toContain('wasm unavailable (no wasm here): using cpu');
  });

  it('forcing WebGPU without an adapter is a clear error', async () => {
    await expect(selectBackend('webgpu', fakePlatform(null))).rejects.toThrow('WebGPU requested, but test browser offers no WebGPU adapter');
  });

  it('an adapter is recognised as software by its flag or its name', async () => {
    const gpu = (info: Record<string, unknown>) => ({ requestAdapter: async () => ({ info }) }) as unknown as GPU;
    expect((await describeAdapter(gpu({ architecture: 'swiftshader' })))!.fallback).toBe(true);
    expect((await describeAdapter(gpu({ description: 'llvmpipe (LLVM 15)' })))!.fallback).toBe(true);
    expect((await describeAdapter(gpu({ vendor: 'nvidia', architecture: 'ampere' })))!.fallback).toBe(false);
    expect(await describeAdapter(undefined)).toBeUndefined();
  });
});
