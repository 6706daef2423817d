#!/bin/sh
# Builds scripts/train.bundle.mjs (npm run train:examples as one file) and .dev/, what it needs
# beside it on a machine with no node_modules: the wasm binaries, Dawn (linux-x64) and the MNIST
# asset. On that machine: ln -s .dev/node_modules node_modules; node scripts/train.bundle.mjs ...
set -e
cd "$(dirname "$0")/../.."
npx esbuild scripts/device/train.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile=scripts/train.bundle.mjs --external:webgpu --main-fields=main,module --log-level=warning \
  --banner:js="import { createRequire as __weftRequire } from 'node:module'; import { fileURLToPath as __weftPath } from 'node:url'; const require = __weftRequire(import.meta.url); const __filename = __weftPath(import.meta.url); const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));"
cp src/nodes/data/mnist-10k.bin.gz scripts/
rm -rf .dev/node_modules && mkdir -p .dev/node_modules/@tensorflow/tfjs-backend-wasm/dist .dev/node_modules/webgpu/dist
cp node_modules/@tensorflow/tfjs-backend-wasm/package.json .dev/node_modules/@tensorflow/tfjs-backend-wasm/
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm .dev/node_modules/@tensorflow/tfjs-backend-wasm/dist/
cp -r node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/dist/linux-x64 .dev/node_modules/webgpu/
mv .dev/node_modules/webgpu/linux-x64 .dev/node_modules/webgpu/dist/
du -sh scripts/train.bundle.mjs .dev
