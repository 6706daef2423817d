/**
 * Param widgets, chosen by the param spec's `kind` (src/runtime/params.ts): the spec both
 * validates and describes its widget, so no node kind has hand-written UI. Text-like widgets keep
 * a draft and commit on Enter or blur (one undo step per change, not per keystroke); toggles,
 * selects and the dice commit at once. Every widget is `nodrag` so typing never moves the node.
 */
import { memo, useEffect, useState, type KeyboardEvent } from 'react';
import type { ParamSpec } from '../../runtime/index.ts';

export interface WidgetProps {
  nodeId: string;
  name: string;
  spec: ParamSpec;
  value: unknown;
  onChange: (name: string, value: unknown) => void;
}

const MAX_SEED = 2 ** 31 - 1;

function show(spec: ParamSpec, value: unknown): string {
  if (spec.kind === 'shape' && Array.isArray(value)) return value.join(', ');
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The value a draft stands for, or undefined when it does not parse as one. */
function parse(spec: ParamSpec, text: string): unknown {
  switch (spec.kind) {
    case 'number': {
      const x = Number(text);
      return text.trim() === '' || Number.isNaN(x) ? undefined : x;
    }
    case 'int':
    case 'seed': {
      const x = Number(text);
      return text.trim() === '' || !Number.isInteger(x) ? undefined : x;
    }
    case 'shape': {
      const dims = text.split(/[\s,x×]+/).filter(Boolean).map(Number);
      return dims.length && dims.every((d) => Number.isInteger(d)) ? dims : undefined;
    }
    default:
      return text;
  }
}

function Draft({ nodeId, name, spec, value, onChange, multiline }: WidgetProps & { multiline?: boolean }) {
  const shown = show(spec, value);
  const [draft, setDraft] = useState(shown);
  useEffect(() => setDraft(shown), [shown]);
  const parsed = parse(spec, draft);
  const commit = () => {
    if (draft === shown) return;
    if (parsed === undefined) return setDraft(shown);
    onChange(name, parsed);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (!multiline || e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      commit();
    } else if (e.key === 'Escape') setDraft(shown);
  };
  const common = {
    className: `nodrag nowheel${parsed === undefined ? ' bad' : ''}`,
    'data-testid': `param-${nodeId}-${name}`,
    value: draft,
    onBlur: commit,
    onKeyDown: onKey,
  };
  if (multiline) return <textarea {...common} rows={3} onChange={(e) => setDraft(e.target.value)} />;
  const numeric = spec.kind === 'number' || spec.kind === 'int' || spec.kind === 'seed';
  return (
    <input
      {...common}
      type={numeric ? 'number' : 'text'}
      {...(spec.kind === 'number' || spec.kind === 'int' ? { min: spec.min, max: spec.max, step: spec.step ?? 'any' } : {})}
      {...(spec.kind === 'seed' ? { min: 0, max: MAX_SEED, step: 1 } : {})}
      onChange={(e) => setDraft(e.target.value)}
    />
  );
}

export const ParamWidget = memo(function ParamWidget(props: WidgetProps) {
  const { nodeId, name, spec, value, onChange } = props;
  const id = `param-${nodeId}-${name}`;
  switch (spec.kind) {
    case 'bool':
      return <input type="checkbox" className="nodrag" data-testid={id} checked={value === true} onChange={(e) => onChange(name, e.target.checked)} />;
    case 'enum':
      return (
        <select className="nodrag" data-testid={id} value={String(value)} onChange={(e) => onChange(name, e.target.value)}>
          {!spec.options.includes(String(value)) && <option value={String(value)}>{String(value)} (invalid)</option>}
          {spec.options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
    case 'seed':
      return (
        <span className="seed">
          <Draft {...props} />
          <button
            type="button"
            className="nodrag dice"
            title="a random seed"
            data-testid={`dice-${nodeId}-${name}`}
            onClick={() => onChange(name, Math.floor(Math.random() * MAX_SEED))}
          >
            rnd
          </button>
        </span>
      );
    case 'text':
      return <Draft {...props} multiline={spec.multiline || (typeof value === 'string' && value.includes('\n'))} />;
    default:
      return <Draft {...props} />;
  }
});
