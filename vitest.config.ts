import { defineConfig } from 'vitest/config';
import { webgpuEnv } from './src/runtime/platform-node.ts';

// Test workers are forked from this process: give them the environment Dawn needs to find
// SwiftShader (LD_LIBRARY_PATH is read only when a process starts).
Object.assign(process.env, webgpuEnv());

export default defineConfig({
  resolve: { alias: { weft: new URL('./src/index.ts', import.meta.url).pathname } },
  test: {
    include: ['src/**/*.test.ts', 'bench/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
