import { defineConfig } from 'vitest/config';
import { webgpuEnv } from './src/runtime/platform-node.ts';

// Test workers are forked from this process: give them the environment Dawn needs to find
// SwiftShader (LD_LIBRARY_PATH is read only when a process starts).
Object.assign(process.env, webgpuEnv());

// Vitest 5's failure report calls Map.groupBy, which Node 20 lacks (it arrived in Node 21).
// Without this, a failing test crashes the reporter instead of printing why it failed.
if (!('groupBy' in Map)) {
  Object.defineProperty(Map, 'groupBy', {
    value<K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, V[]> {
      const out = new Map<K, V[]>();
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        out.set(k, [...(out.get(k) ?? []), item]);
      }
      return out;
    },
  });
}

export default defineConfig({
  resolve: { alias: { weft: new URL('./src/index.ts', import.meta.url).pathname } },
  test: {
    include: ['src/**/*.test.ts', 'bench/**/*.test.ts', 'examples/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
