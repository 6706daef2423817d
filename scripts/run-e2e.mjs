#!/usr/bin/env node
/**
 * `npm run test:e2e`: build the app with Vite, then run Playwright in Debian's Chromium
 * (Playwright's own browsers cannot be downloaded here). Extra arguments go to `playwright test`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
const chromium = candidates.find((p) => existsSync(p));
if (!chromium) {
  console.error(
    `run-e2e: no Chromium found (looked at ${candidates.join(', ')}).\n` +
      'Install it with `sudo apt-get install -y chromium` (Debian), or set CHROMIUM_PATH to a Chromium binary.',
  );
  process.exit(1);
}

function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

const built = run('npx', ['vite', 'build', '--logLevel', 'warn']);
if (built !== 0) {
  console.error('run-e2e: vite build failed');
  process.exit(built);
}
process.exit(run('npx', ['playwright', 'test', ...process.argv.slice(2)], { ...process.env, CHROMIUM_PATH: chromium, WEFT_E2E_BUILT: '1' }));
