#!/usr/bin/env node
// The `weft` command. Weft ships as TypeScript: tsx compiles it on the fly.
//
// WebGPU in Node goes through Dawn, which finds a Vulkan driver (SwiftShader on a machine without
// a GPU) through LD_LIBRARY_PATH, read only when a process starts. So `--backend webgpu` in a
// process that lacks that environment re-runs this command in a child that has it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { register } from 'tsx/esm/api';

register();

const argv = process.argv.slice(2);
const wantsWebGPU = argv.some((a, i) => a === '--backend=webgpu' || (a === '--backend' && argv[i + 1] === 'webgpu'));
const RESPAWNED = 'WEFT_WEBGPU_RESPAWNED';

if (wantsWebGPU && !process.env[RESPAWNED]) {
  const { webgpuEnv } = await import('../src/runtime/platform-node.ts');
  const env = webgpuEnv(process.env);
  const missing = env.LD_LIBRARY_PATH !== process.env.LD_LIBRARY_PATH || env.VK_ICD_FILENAMES !== process.env.VK_ICD_FILENAMES;
  if (missing) {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...env, [RESPAWNED]: '1' } });
    // Ctrl-C reaches the child through the terminal's process group, and a signal sent to this
    // process alone (kill <pid>) is passed on; the child takes a doubled Ctrl-C as one, and it
    // decides the exit status.
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
    child.on('error', (e) => {
      process.stderr.write(`weft: cannot start a WebGPU-ready process: ${e.message}\n`);
      process.exit(1);
    });
    child.on('exit', (code, signal) => {
      process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
    });
  } else await start();
} else await start();

async function start() {
  const { main } = await import('../src/cli/main.ts');
  const code = await main(argv);
  // Exit explicitly: a WebGPU device keeps the event loop alive. Flush stdout first.
  process.stdout.write('', () => process.exit(code));
}
