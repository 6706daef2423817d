/**
 * What a node shows of its run, drawn inside the node below its widgets: the state badge, and the
 * preview (an ImageOutput's picture, a Plot, a TensorOutput's statistics, a Trainer's controls, and
 * for any node with tensor outputs a thumbnail of each on demand).
 */
import { useContext, useEffect, useRef } from 'react';
import type { GraphDoc } from '../../graph/index.ts';
import { createRegistry } from '../../nodes/index.ts';
import type { OutputValue, RGBAImage, TensorData } from '../../runtime/index.ts';
import { DocContext, useNodeRun, useRunSelect, useRunSession, weftHook } from './context.ts';
import { drawPlot, type PlotData } from './plot.ts';
import type { PortValues, RunSnapshot, TrainState } from './session.ts';
import { tensorThumbnail } from './thumbnail.ts';
import { formatMs } from './Toolbar.tsx';

const kinds = createRegistry();
const isTensorData = (v: unknown): v is TensorData =>
  typeof v === 'object' && v !== null && Array.isArray((v as TensorData).shape) && ArrayBuffer.isView((v as TensorData).data);
const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : Number(v.toPrecision(4)).toString());

/** State badge: queued, running (with a progress bar), cached, done with time, error with message. */
export function NodeRunBadge({ id }: { id: string }) {
  const s = useNodeRun(id);
  if (s.status === 'idle' && !s.detail) return null;
  return (
    <div className={`run-badge ${s.status}`} data-testid={`badge-${id}`} title={s.message}>
      <span className="run-state">{s.status}</span>
      {s.ms !== undefined && <span className="run-ms">{formatMs(s.ms)}</span>}
      {s.detail && <span className="run-detail">{s.detail}</span>}
      {s.progress !== undefined && s.status === 'running' && (
        <div className="run-progress" role="progressbar" aria-valuenow={Math.round(s.progress * 100)}>
          <div style={{ width: `${Math.min(100, s.progress * 100)}%` }} />
        </div>
      )}
      {s.message && <div className="run-message">{s.message}</div>}
    </div>
  );
}

/** Drawn inside a node: image / tensor thumbnail on demand / Plot / trainer controls. */
export function NodePreview({ id, type }: { id: string; type: string }) {
  switch (type) {
    case 'ImageOutput':
      return <ImagePreview id={id} />;
    case 'Plot':
      return <PlotPreview id={id} />;
    case 'Trainer':
      return <TrainerControls id={id} />;
    case 'TensorOutput':
      return (
        <>
          <TensorStats id={id} />
          <Thumbnails id={id} />
        </>
      );
    default: {
      const kind = kinds.get(type);
      const tensors = kind && Object.values({ ...kind.outputs, ...kind.display }).some((p) => p.kind === 'tensor');
      return tensors ? <Thumbnails id={id} /> : null;
    }
  }
}

/** An RGBA picture on a canvas (pixels as they are; CSS scales the canvas). */
export function RgbaCanvas({ image, testId, className }: { image?: RGBAImage; testId: string; className?: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || !image) return;
    el.width = image.width;
    el.height = image.height;
    el.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(image.rgba), image.width, image.height), 0, 0);
  }, [image]);
  return <canvas ref={ref} data-testid={testId} className={className ?? 'run-picture'} width={0} height={0} />;
}

function ImagePreview({ id }: { id: string }) {
  const image = useRunSelect((s) => s.images[id], undefined);
  if (!image) return null;
  return <RgbaCanvas image={image} testId={`preview-${id}`} />;
}

const NO_OUTPUTS: PortValues = {};

function TensorStats({ id }: { id: string }) {
  const out = useRunSelect((s) => s.outputs[id], NO_OUTPUTS) ?? NO_OUTPUTS;
  if (!isTensorData(out.value)) return null;
  const stat = (k: string) => (typeof out[k] === 'number' ? fmt(out[k] as number) : '–');
  return (
    <div className="run-stats" data-testid={`stats-${id}`}>
      [{out.value.shape.join(', ')}] mean {stat('mean')} std {stat('std')} min {stat('min')} max {stat('max')}
    </div>
  );
}

/** A thumbnail of each tensor the node outputs, read on demand (the run of just what it needs is mostly cache hits). */
function Thumbnails({ id }: { id: string }) {
  const session = useRunSession();
  const peek = useRunSelect((s) => s.peeks[id], undefined);
  const busy = useRunSelect((s) => s.status === 'running' || s.train.phase === 'training', false);
  if (!session) return null;
  return (
    <div className="run-thumbs">
      <button className="run-thumb-button nodrag" data-testid={`thumb-${id}`} disabled={busy} onClick={() => void session.peek(id)} title="Read this node's outputs and draw them">
        {peek ? 'refresh thumbnails' : 'thumbnails'}
      </button>
      {peek && Object.entries(peek).map(([port, v]) => <PortThumb key={port} id={id} port={port} value={v} />)}
    </div>
  );
}

function PortThumb({ id, port, value }: { id: string; port: string; value: OutputValue | OutputValue[] }) {
  if (!isTensorData(value)) {
    const text = typeof value === 'number' ? fmt(value) : typeof value === 'string' ? value : Array.isArray(value) ? `${value.length} values` : (value as { resource?: string }).resource ?? '';
    return (
      <div className="run-thumb">
        <span className="run-port">{port}</span> {text}
      </div>
    );
  }
  const thumb = tensorThumbnail(value);
  return (
    <div className="run-thumb">
      <span className="run-port">{port}</span> <span className="run-caption">{thumb.caption}</span>
      {thumb.image && <RgbaCanvas image={thumb.image} testId={`thumb-${id}-${port}`} className={`run-picture ${thumb.kind}`} />}
    </div>
  );
}

/** Optimizers whose loss is what feeds a Plot's series: while training, the Plot draws their loss curves. */
export function lossesFeeding(doc: GraphDoc | undefined, plotId: string): string[] {
  if (!doc) return [];
  const src = doc.edges.find((e) => e.to.node === plotId && e.to.port === 'series')?.from;
  if (!src) return [];
  const optimizers = new Set(doc.nodes.filter((n) => n.type === 'Optimizer').map((n) => n.id));
  return doc.edges.filter((e) => optimizers.has(e.to.node) && e.to.port === 'loss' && e.from.node === src.node && e.from.port === src.port).map((e) => e.to.node);
}

/** Loss history per optimizer id from the training history. */
export function lossSeries(train: TrainState, ids?: string[]): PlotData['lines'] {
  const by = new Map<string, number[]>();
  for (const h of train.history) for (const [k, v] of Object.entries(h.losses)) if (!ids || ids.includes(k)) by.set(k, [...(by.get(k) ?? []), v]);
  return [...by].map(([name, values]) => ({ name, values }));
}

function PlotPreview({ id }: { id: string }) {
  const doc = useContext(DocContext);
  const out = useRunSelect((s) => s.outputs[id], NO_OUTPUTS) ?? NO_OUTPUTS;
  const train = useRunSelect((s) => s.train, undefined as unknown as RunSnapshot['train']);
  const logScale = !!doc?.nodes.find((n) => n.id === id)?.params.logScale;
  const feeding = lossesFeeding(doc, id);
  const live = train && feeding.length ? lossSeries(train, feeding).filter((l) => l.values.length) : [];
  const series = isTensorData(out.series) ? Array.from(out.series.data) : [];
  const data: PlotData = {
    lines: live.length ? live : series.length ? [{ name: 'series', values: series }] : [],
    ...(isTensorData(out.points) && out.points.shape[0] ? { points: out.points.data } : {}),
    ...(isTensorData(out.labels) && out.labels.shape[0] ? { labels: out.labels.data } : {}),
    logScale,
  };
  if (!data.lines.length && !data.points) return null;
  return <PlotCanvas data={data} testId={`plot-${id}`} width={240} height={data.lines.length && data.points ? 260 : 140} />;
}

/** A plot on a canvas; the values it drew are published on window.__weft.plots[testId] for tests (lines by name, scatter as "(points)" [x0, y0, x1, …]). */
export function PlotCanvas({ data, testId, width, height }: { data: PlotData; testId: string; width: number; height: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const scale = window.devicePixelRatio || 1;
    el.width = Math.round(width * scale);
    el.height = Math.round(height * scale);
    const ctx = el.getContext('2d')!;
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    drawPlot(ctx, data, width, height);
    const hook = weftHook();
    const drawn: Record<string, number[]> = Object.fromEntries(data.lines.map((l) => [l.name, l.values]));
    if (data.points) drawn['(points)'] = Array.from(data.points);
    hook.plots = { ...hook.plots, [testId]: drawn };
  }, [data, testId, width, height]);
  return <canvas ref={ref} data-testid={testId} className="run-plot" style={{ width, height }} />;
}

/** Train / Pause / Stop on the Trainer node itself (the TrainPanel has the same and more). */
function TrainerControls({ id }: { id: string }) {
  const session = useRunSession();
  const train = useRunSelect((s) => s.train, undefined as unknown as TrainState);
  const running = useRunSelect((s) => s.status === 'running', false);
  if (!session || !train) return null;
  const mine = train.trainer === id;
  const training = train.phase === 'training';
  const paused = mine && train.phase === 'paused';
  return (
    <div className="run-trainer nodrag">
      <button data-testid={`trainer-train-${id}`} disabled={training || running} onClick={() => void session.train(id)}>
        {paused ? 'Resume' : 'Train'}
      </button>
      <button data-testid={`trainer-pause-${id}`} disabled={!mine || !training} onClick={() => session.pause()}>
        Pause
      </button>
      <button data-testid={`trainer-stop-${id}`} disabled={!mine || !(training || paused)} onClick={() => session.stopTraining()}>
        Stop
      </button>
      {mine && train.history.length > 0 && (
        <span className="run-detail">
          step {train.stepsDone}
          {train.stepsPerSec ? ` · ${train.stepsPerSec.toFixed(1)}/s` : ''}
        </span>
      )}
    </div>
  );
}
