/**
 * The Node platform: wasm binaries from node_modules, WebGPU through Dawn (the `webgpu` package).
 * Dawn finds a Vulkan driver through the loader; on a machine without a GPU that is Chromium's
 * SwiftShader, which needs LD_LIBRARY_PATH set before the process starts (see webgpuEnv).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Platform } from './backend.ts';

// tfjs prints a banner recommending tfjs-node (which cannot install here) on the first tensor in
// Node; production mode silences its warnings. Debug-mode checks (NaN scans) are off anyway.
tf.env().set('PROD', true);

const require = createRequire(import.meta.url);
const CHROMIUM_DIR = '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${CHROMIUM_DIR}/vk_swiftshader_icd.json`;

/** Environment a child process needs for Dawn to find SwiftShader (when no system Vulkan exists). */
export function webgpuEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!existsSync(SWIFTSHADER_ICD)) return env;
  const libPath = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return {
    ...env,
    LD_LIBRARY_PATH: libPath.includes(CHROMIUM_DIR) ? env.LD_LIBRARY_PATH : [...libPath, CHROMIUM_DIR].join(':'),
    VK_ICD_FILENAMES: env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD,
  };
}

let wasmReady: Promise<void> | undefined;
let gpu: Promise<GPU | undefined> | undefined;

export const nodePlatform: Platform = {
  name: 'Node',
  autoWebGPU: false,
  prepareWasm() {
    wasmReady ??= (async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
      wasm.setWasmPaths(dir);
    })();
    return wasmReady;
  },
  getGPU() {
    gpu ??= (async () => {
      const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
      if (nav?.gpu) return nav.gpu;
      const icd = webgpuEnv().VK_ICD_FILENAMES;
      if (icd) process.env.VK_ICD_FILENAMES = icd; // (assigning undefined would set the text "undefined")
      let dawn: typeof import('webgpu');
      try {
        dawn = await import('webgpu');
      } catch {
        return undefined;
      }
      const created = dawn.create([]) as unknown as GPU;
      Object.assign(globalThis, dawn.globals);
      Object.defineProperty(globalThis, 'navigator', { value: { ...(nav ?? {}), gpu: created }, configurable: true, writable: true });
      return created;
    })();
    return gpu;
  },
  async loadWebGPUBackend() {
    await import('@tensorflow/tfjs-backend-webgpu');
  },
  async readFile(file, baseDir) {
    return new Uint8Array(await readFile(path.resolve(baseDir ?? process.cwd(), file)));
  },
};

/** Why WebGPU may be missing in Node, for error messages. */
export const WEBGPU_HINT =
  `start Node with LD_LIBRARY_PATH=${CHROMIUM_DIR} VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (Debian's chromium package provides SwiftShader), or run on a machine with a Vulkan GPU driver`;
