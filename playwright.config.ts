import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests in Debian's Chromium against the built app served by `vite preview`.
 * scripts/run-e2e.mjs builds first and sets WEFT_E2E_BUILT; run directly, the web server builds.
 * No GPU here: --enable-unsafe-webgpu gives a SwiftShader (software) WebGPU adapter.
 */
const port = Number(process.env.WEFT_E2E_PORT ?? 4173);
const preview = `npx vite preview --host 127.0.0.1 --port ${port} --strictPort`;

export default defineConfig({
  testDir: 'e2e',
  timeout: 120_000,
  expect: { timeout: 60_000 },
  // Two cores: one worker keeps wasm threads and SwiftShader from starving each other.
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: process.env.WEFT_E2E_BUILT ? preview : `npx vite build && ${preview}`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
