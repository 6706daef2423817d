/** Header controls: Run / Stop, status, the backend (switchable) and why, cache stats with Clear. */
import type { BackendRequest } from '../../runtime/index.ts';
import { useRunSelect, useRunSession } from './context.ts';
import type { RunSnapshot } from './session.ts';

const BACKENDS: BackendRequest[] = ['auto', 'webgpu', 'wasm', 'cpu'];

export const formatBytes = (n: number) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
export const formatMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);

/** Puts the backend in the address (`?backend=`), so a reload or a shared link keeps it. */
function rememberBackend(b: BackendRequest) {
  const url = new URL(location.href);
  if (b === 'auto') url.searchParams.delete('backend');
  else url.searchParams.set('backend', b);
  history.replaceState(history.state, '', url);
}

const EMPTY = {} as RunSnapshot;

export function RunToolbar() {
  const session = useRunSession();
  const s = useRunSelect((x) => x, EMPTY);
  if (!session) return null;
  const training = s.train.phase === 'training';
  const busy = s.status === 'running' || training;
  const cache = s.cache;
  return (
    <div className="run-toolbar">
      <button data-testid="run" disabled={!s.backend || busy} onClick={() => void session.run()} title="Run the graph (outputs and what they need; unchanged nodes come from the cache)">
        ▶ Run
      </button>
      <button data-testid="stop" disabled={!busy} onClick={() => session.stop()} title="Stop between nodes or steps">
        ■ Stop
      </button>
      <span data-testid="status" className={`run-status ${s.status}`}>{s.status}</span>
      <label className="run-backend">
        backend
        <select
          data-testid="backend-select"
          value={s.backendRequest}
          disabled={busy}
          onChange={(e) => {
            const b = e.target.value as BackendRequest;
            rememberBackend(b);
            void session.start(b);
          }}
        >
          {BACKENDS.map((b) => (
            <option key={b} value={b}>
              {b}
            </option>
          ))}
        </select>
        <b data-testid="backend">{s.backend?.name ?? '…'}</b>
        <span className="run-reason" data-testid="backend-reason" title={s.backend?.reason}>
          {s.backend?.reason ?? ''}
        </span>
      </label>
      <span className="run-cache" data-testid="cache-stats" title={cache ? `tfjs tensors: ${cache.numTensors}; budget ${formatBytes(cache.budgetBytes)}; evictions ${cache.evictions}; pinned ${cache.pinned}` : ''}>
        {cache ? `cache: ${cache.entries} entries, ${formatBytes(cache.bytes)}, ${cache.hits} hits / ${cache.misses} misses` : 'cache: –'}
      </span>
      <button data-testid="cache-clear" disabled={busy || !cache?.entries} onClick={() => void session.clearCache()} title="Free every cached value (trained but unsaved weights too)">
        Clear
      </button>
      {s.lastRun && s.status === 'done' && <span className="run-time">{formatMs(s.lastRun.ms)}</span>}
      {s.error && (
        <pre className="run-error" data-testid="run-error">
          {s.error}
        </pre>
      )}
    </div>
  );
}
