/**
 * The training side panel: pick a trainer, Train / Pause (Resume) / Stop / Reset, live loss curves
 * (one line per optimizer), steps/s, and Save checkpoint (weights to IndexedDB, the builders'
 * `weights` params pointed at them through one undoable edit).
 */
import { useContext, useMemo, useState } from 'react';
import { DocContext, useRunSelect, useRunSession } from './context.ts';
import { lossSeries, PlotCanvas } from './NodeViews.tsx';
import { PALETTE } from './plot.ts';
import type { TrainState } from './session.ts';

const fmtLoss = (v: number | undefined) => (v === undefined ? '–' : Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));

export function TrainPanel() {
  const session = useRunSession();
  const doc = useContext(DocContext);
  const train = useRunSelect((s) => s.train, undefined as unknown as TrainState);
  const running = useRunSelect((s) => s.status === 'running', false);
  const [picked, setPicked] = useState<string>();
  const [logScale, setLogScale] = useState(false);
  const trainers = useMemo(() => (doc?.nodes ?? []).filter((n) => n.type === 'Trainer').map((n) => n.id), [doc]);
  const lines = useMemo(() => (train ? lossSeries(train).map((l, i) => ({ ...l, color: PALETTE[i % PALETTE.length] })) : []), [train]);
  const data = useMemo(() => ({ lines, logScale }), [lines, logScale]);
  if (!session || !train) return null;
  if (!trainers.length) {
    return (
      <section className="train-panel" data-testid="train-panel">
        <h3>Training</h3>
        <p className="run-note">This graph has no Trainer node: add one (with Optimizers feeding it) to train here.</p>
      </section>
    );
  }
  const trainer = picked && trainers.includes(picked) ? picked : train.trainer && trainers.includes(train.trainer) ? train.trainer : trainers[0];
  const mine = train.trainer === trainer;
  const phase = mine ? train.phase : 'idle';
  const training = train.phase === 'training';
  const last = mine ? train.history[train.history.length - 1] : undefined;
  return (
    <section className="train-panel" data-testid="train-panel">
      <h3>Training</h3>
      {trainers.length > 1 && (
        <label>
          trainer{' '}
          <select data-testid="trainer-select" value={trainer} disabled={training} onChange={(e) => setPicked(e.target.value)}>
            {trainers.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
      )}
      <div className="train-buttons">
        <button data-testid="train" disabled={training || running} onClick={() => void session.train(trainer)} title="Train from the current weights, continuing the step count">
          {phase === 'paused' ? '▶ Resume' : '▶ Train'}
        </button>
        <button data-testid="pause" disabled={!training} onClick={() => session.pause()} title="Stop after this step; Resume carries on to the same step">
          ❚❚ Pause
        </button>
        <button data-testid="train-stop" disabled={!(training || phase === 'paused')} onClick={() => session.stopTraining()}>
          ■ Stop
        </button>
        <button data-testid="train-reset" disabled={training || running || !train.history.length} onClick={() => void session.resetTraining()} title="Forget the history and the trained weights (clears the cache)">
          Reset
        </button>
      </div>
      <div className="train-progress">
        <span data-testid="train-status" className={`train-phase ${phase}`}>
          {phase}
        </span>
        <span data-testid="train-step">
          step {mine ? train.stepsDone : 0}
          {mine && train.target ? ` / ${train.target}` : ''}
        </span>
        <span data-testid="train-rate">{mine && train.stepsPerSec ? `${train.stepsPerSec.toFixed(1)} steps/s` : ''}</span>
      </div>
      {mine && lines.length > 0 && <PlotCanvas data={data} testId="loss-curve" width={270} height={160} />}
      <label className="train-log">
        <input type="checkbox" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /> log scale
      </label>
      {last && (
        <table className="train-losses" data-testid="train-losses">
          <tbody>
            {Object.entries(last.losses).map(([id, v], i) => (
              <tr key={id}>
                <td style={{ color: PALETTE[i % PALETTE.length] }}>■ {id}</td>
                <td>{fmtLoss(v)}</td>
                <td>{last.skipped.includes(id) ? 'skipped' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button
        data-testid="save-checkpoint"
        disabled={!mine || training || running || train.saving || !train.history.length}
        onClick={() => void session.saveCheckpoint()}
        title="Store the trained weights in this browser (IndexedDB) and point the graph's models at them"
      >
        Save checkpoint
      </button>
      {train.message && mine && (
        <p className="run-note" data-testid="train-message">
          {train.message}
        </p>
      )}
    </section>
  );
}
