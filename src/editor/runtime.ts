/**
 * The page's single runtime. tfjs's active backend is process-wide, so the page makes one runtime
 * per backend request and shares it (React's Strict Mode mounts effects twice in development).
 */
import { createRuntimeWith, type BackendRequest, type Runtime } from '../runtime/index.ts';
import { createRegistry } from '../nodes/index.ts';
import { browserPlatform } from './platform.ts';

const BACKENDS: BackendRequest[] = ['auto', 'webgpu', 'wasm', 'cpu'];
const runtimes = new Map<BackendRequest, Promise<Runtime>>();

export function parseBackend(value: string | null): BackendRequest {
  if (value === null || value === '') return 'auto';
  if ((BACKENDS as string[]).includes(value)) return value as BackendRequest;
  throw new Error(`unknown backend "${value}": choose one of ${BACKENDS.join(', ')}`);
}

export function pageRuntime(backend: BackendRequest): Promise<Runtime> {
  let rt = runtimes.get(backend);
  if (!rt) {
    rt = createRuntimeWith({ backend, registry: createRegistry(), platform: browserPlatform });
    runtimes.set(backend, rt);
  }
  return rt;
}
