/**
 * The browser platform: wasm binaries from the bundle, WebGPU from navigator.gpu, files a graph
 * names from IndexedDB (`idb:<key>`), the bundled example weights, or else over HTTP.
 * The bundler renames and relocates the .wasm files, so they are imported as URLs and handed to
 * setWasmPaths as a map (tfjs picks plain, SIMD or threaded SIMD by what the page supports;
 * threads need crossOriginIsolated, see vite.config.ts).
 */
import type { Platform } from '../runtime/index.ts';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { getWeights, IDB_PREFIX } from './persist/weights.ts';

let wasmReady: Promise<void> | undefined;

/**
 * The weights the example graphs ship (graphs/weights/), bundled as assets and keyed as a graph
 * in graphs/ names them (`weights/mnist-vae.safetensors`), so an example runs with its weights
 * wherever the page is served, and so does any graph made from one.
 */
const exampleWeights: Record<string, string> = Object.fromEntries(
  Object.entries(
    import.meta.glob('../../graphs/weights/**/*.safetensors', { query: '?url', import: 'default', eager: true }) as Record<string, string>,
  ).map(([path, url]) => [path.replace(/^\.\.\/\.\.\/graphs\//, ''), url]),
);

export const browserPlatform: Platform = {
  name: 'browser',
  autoWebGPU: true,
  prepareWasm() {
    wasmReady ??= (async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Absolute URLs: the threaded build resolves paths from inside a blob: worker.
      const abs = (u: string) => new URL(u, document.baseURI).href;
      wasm.setWasmPaths({
        'tfjs-backend-wasm.wasm': abs(wasmPlain),
        'tfjs-backend-wasm-simd.wasm': abs(wasmSimd),
        'tfjs-backend-wasm-threaded-simd.wasm': abs(wasmThreadedSimd),
      });
    })();
    return wasmReady;
  },
  async getGPU() {
    return typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  },
  async loadWebGPUBackend() {
    await import('@tensorflow/tfjs-backend-webgpu');
  },
  async readFile(file, baseDir) {
    if (file.startsWith(IDB_PREFIX)) return getWeights(file);
    const bundled = exampleWeights[file.replace(/^\.\//, '')];
    const url = bundled ? new URL(bundled, document.baseURI) : new URL(file, new URL(baseDir ?? './', document.baseURI));
    const res = await fetch(url);
    if (!res.ok) throw new Error(`could not fetch ${bundled ? `${file} (bundled as ${url.href})` : url.href}: HTTP ${res.status}`);
    // A single-page server answers any unknown path with the app's own page, status 200.
    if (/^text\/html/i.test(res.headers.get('content-type') ?? '')) throw new Error(`could not fetch ${url.href}: no such file (the server answered with a web page)`);
    return new Uint8Array(await res.arrayBuffer());
  },
};
