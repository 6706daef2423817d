import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * COOP/COEP make the page cross-origin isolated: SharedArrayBuffer exists, so tfjs-backend-wasm
 * can take its threaded SIMD binary. 127.0.0.1 (not localhost) is a secure context for WebGPU and
 * matches what the e2e tests open. The .wasm binaries are imported with `?url` by
 * src/editor/platform.ts and handed to setWasmPaths, so the bundler may rename and move them.
 */
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * tfjs-backend-wasm starts its pthread workers from `factory.toString()`, so the factory must not
 * reference its enclosing closure except behind a `typeof` guard. It reads `_scriptDir` that way,
 * but the minifier knows `_scriptDir` is declared and folds `typeof _scriptDir !== "undefined"` to
 * `e !== void 0`, which throws "e is not defined" in every worker and the backend never starts.
 * Guard on `document` instead (absent in workers; same meaning on the main thread).
 */
function tfjsWasmThreadsFix(): Plugin {
  const file = /@tensorflow[\\/]tfjs-backend-wasm[\\/]wasm-out[\\/]tfjs-backend-wasm-threaded-simd\.js$/;
  const guard = 'if(typeof _scriptDir !== "undefined" && _scriptDir){scriptDirectory=_scriptDir}';
  return {
    name: 'weft:tfjs-wasm-threads-fix',
    apply: 'build',
    transform(code, id) {
      if (!file.test(id.split('?')[0])) return null;
      if (!code.includes(guard)) this.error(`tfjs-backend-wasm changed: cannot find the _scriptDir guard in ${id}`);
      return { code: code.replace(guard, 'if(typeof document !== "undefined" && _scriptDir){scriptDirectory=_scriptDir}'), map: null };
    },
  };
}

export default defineConfig({
  plugins: [react(), tfjsWasmThreadsFix()],
  server: { host: '127.0.0.1', port: 5173, headers: isolation },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: isolation },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
