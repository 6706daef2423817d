/**
 * The seed of the editor: show a built-in example graph read-only, pick a backend, run it, and
 * draw its image output. Query string: `?graph=<example>` and `?backend=auto|webgpu|wasm|cpu`.
 * `window.__weft` exposes the backend and a summary of the last run for the e2e tests.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { loadGraph, type GraphDoc } from '../graph/index.ts';
import { imageGrid, type BackendInfo, type RunResult, type Runtime, type TensorData } from '../runtime/index.ts';
import { DEFAULT_EXAMPLE, examples } from './examples.ts';
import { GraphView } from './GraphView.tsx';
import { pageRuntime, parseBackend } from './runtime.ts';

type Status = 'starting' | 'ready' | 'running' | 'done' | 'error';

interface RunSummary {
  ms: number;
  nodes: RunResult['nodes'];
  /** Per output node and port: the tensor shape, or the number. */
  outputs: Record<string, Record<string, number[] | number | string>>;
  image?: { nodeId: string; width: number; height: number };
}

declare global {
  interface Window {
    __weft?: { backend?: BackendInfo; lastResult?: RunSummary; error?: string };
  }
}

function readPage(): { doc: GraphDoc; name: string; backend: ReturnType<typeof parseBackend> } {
  const q = new URLSearchParams(location.search);
  const name = q.get('graph') || DEFAULT_EXAMPLE;
  const text = examples[name];
  if (!text) throw new Error(`no example graph "${name}": choose one of ${Object.keys(examples).join(', ')}`);
  return { doc: loadGraph(text), name, backend: parseBackend(q.get('backend')) };
}

const isTensorData = (v: unknown): v is TensorData =>
  typeof v === 'object' && v !== null && Array.isArray((v as TensorData).shape) && ArrayBuffer.isView((v as TensorData).data);

function summarize(res: RunResult): RunSummary {
  const outputs: RunSummary['outputs'] = {};
  for (const [id, ports] of Object.entries(res.outputs)) {
    outputs[id] = {};
    for (const [port, v] of Object.entries(ports)) {
      outputs[id][port] = isTensorData(v) ? v.shape : typeof v === 'number' ? v : String(v);
    }
  }
  return { ms: res.ms, nodes: res.nodes, outputs };
}

/** The ImageOutput to show: the one called "preview", else the first. */
function previewNode(doc: GraphDoc) {
  const images = doc.nodes.filter((n) => n.type === 'ImageOutput');
  return images.find((n) => n.id === 'preview') ?? images[0];
}

export function App() {
  const page = useMemo(() => {
    try {
      return readPage();
    } catch (err) {
      return { error: (err as Error).message };
    }
  }, []);
  const [runtime, setRuntime] = useState<Runtime>();
  const [status, setStatus] = useState<Status>('starting');
  const [error, setError] = useState<string>();
  const [summary, setSummary] = useState<RunSummary>();
  const canvas = useRef<HTMLCanvasElement>(null);
  const autoRan = useRef(false);

  const fail = useCallback((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    setError(message);
    setStatus('error');
    window.__weft = { ...window.__weft, error: message };
  }, []);

  useEffect(() => {
    if ('error' in page) return fail(new Error(page.error));
    pageRuntime(page.backend).then((rt) => {
      window.__weft = { ...window.__weft, backend: rt.backend };
      setRuntime(rt);
      setStatus('ready');
    }, fail);
  }, [page, fail]);

  const run = useCallback(async () => {
    if (!runtime || 'error' in page) return;
    setStatus('running');
    setError(undefined);
    try {
      const res = await runtime.run(page.doc);
      const next = summarize(res);
      const node = previewNode(page.doc);
      const image = node && res.outputs[node.id]?.image;
      if (node && isTensorData(image) && canvas.current) {
        const columns = Number(runtime.compile(page.doc).plan?.byId.get(node.id)?.params.columns ?? 0);
        const grid = imageGrid(image, columns);
        const el = canvas.current;
        el.width = grid.width;
        el.height = grid.height;
        el.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(grid.rgba), grid.width, grid.height), 0, 0);
        next.image = { nodeId: node.id, width: grid.width, height: grid.height };
      }
      setSummary(next);
      window.__weft = { ...window.__weft, lastResult: next };
      setStatus('done');
    } catch (err) {
      fail(err);
    }
  }, [runtime, page, fail]);

  // Built-in examples run once on load; a shared or user graph will not.
  useEffect(() => {
    if (runtime && !autoRan.current) {
      autoRan.current = true;
      void run();
    }
  }, [runtime, run]);

  return (
    <div className="weft-app">
      <header>
        <h1>Weft</h1>
        <span className="graph-name">{'doc' in page ? page.doc.name : ''}</span>
        <span className="backend">
          backend: <b data-testid="backend">{runtime?.backend.name ?? '…'}</b>
          <span className="reason" data-testid="backend-reason">{runtime?.backend.reason ?? ''}</span>
        </span>
        <button data-testid="run" disabled={!runtime || status === 'running'} onClick={() => void run()}>
          Run
        </button>
        <span data-testid="status" className={`status ${status}`}>{status}</span>
      </header>
      {error && <pre className="error" data-testid="error">{error}</pre>}
      <main>
        <section className="canvas">{'doc' in page && <GraphView doc={page.doc} />}</section>
        <aside>
          <canvas data-testid="preview" ref={canvas} width={0} height={0} />
          {summary && (
            <table className="nodes">
              <tbody>
                {Object.entries(summary.nodes).map(([id, n]) => (
                  <tr key={id}>
                    <td>{id}</td>
                    <td>{n.status}</td>
                    <td>{n.ms.toFixed(1)} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </aside>
      </main>
    </div>
  );
}
