/**
 * The one node component, generated from the kind's definition: a header coloured by category,
 * a row per port with a handle coloured by port kind (shapes from compile in the row and its
 * tooltip), a widget per param, the node's compile issues, and the run UI's badge and preview.
 * An unknown kind gets a placeholder that draws the ports its wires name and shows its JSON.
 */
import { Handle, Position, useStore, type Node, type NodeProps, type ReactFlowState } from '@xyflow/react';
import { memo, useContext, useState, type KeyboardEvent } from 'react';
import type { GraphNode } from '../../graph/index.ts';
import { describeType, PORT_COLORS, type AnyNodeKind, type Category, type ParamSpec, type PortSpec, type PortType } from '../../runtime/index.ts';
import { NodePreview, NodeRunBadge } from '../run/index.tsx';
import { connectionProblem } from '../connect.ts';
import { ConnectingCtx, EditorCtx, type Connecting, type EditorApi } from './context.ts';
import type { NodeInfo } from './view.ts';
import { ParamWidget } from './widgets.tsx';

export type WeftNodeData = { node: GraphNode; info: NodeInfo };
export type WeftNode = Node<WeftNodeData, 'weft'>;

export const CATEGORY_COLORS: Record<Category, string> = {
  sources: '#3b82c4',
  math: '#6b7280',
  outputs: '#1b7f3b',
  text: '#4d8a3f',
  diffusion: '#8a4fc4',
  vae: '#b85c9e',
  gan: '#c4573b',
  flow: '#2d9a9a',
  data: '#c43b52',
  losses: '#b8860b',
  training: '#a07800',
};

/**
 * Below this zoom a node draws only its header and ports (no params, no thumbnails): text is
 * unreadable there anyway, and 500 nodes full of form fields are what makes a big graph slow to
 * open and to pan. Nodes re-render only when the zoom crosses it.
 */
export const FAR_ZOOM = 0.45;
const isFar = (s: ReactFlowState) => s.transform[2] < FAR_ZOOM;

const portLabel = (t: PortType | undefined): string => (t ? describeType(t) : '');

/** Which of this node's handles a wire being dragged could join: `in:port` / `out:port` -> ok. */
function handleFit(api: EditorApi, from: Connecting, id: string, kind: AnyNodeKind): Map<string, boolean> {
  const fit = new Map<string, boolean>();
  const g = api.index();
  for (const port of Object.keys(kind.inputs)) {
    fit.set(`in:${port}`, from.side === 'source' && !connectionProblem(g, from, { node: id, port }));
  }
  for (const port of Object.keys(kind.outputs)) {
    fit.set(`out:${port}`, from.side === 'target' && !connectionProblem(g, { node: id, port }, from));
  }
  return fit;
}

function Header({ id, title, color, far }: { id: string; title: string; color: string; far?: boolean }) {
  const api = useContext(EditorCtx)!;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(id);
  const commit = () => {
    setEditing(false);
    if (draft !== id) {
      const why = api.rename(id, draft);
      if (why) setDraft(id);
    }
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter') commit();
    if (e.key === 'Escape') (setDraft(id), setEditing(false));
  };
  return (
    <header style={{ background: color }} onDoubleClick={() => (setDraft(id), setEditing(true))} title="double-click to rename">
      <span className="title">{title}</span>
      {editing ? (
        <input className="nodrag rename" data-testid={`rename-${id}`} autoFocus value={draft} onChange={(e) => setDraft(e.target.value)} onBlur={commit} onKeyDown={onKey} />
      ) : far ? null : (
        <span className="id" data-testid={`id-${id}`}>
          {id}
        </span>
      )}
    </header>
  );
}

interface RowProps {
  nodeId: string;
  port: string;
  side: 'in' | 'out';
  spec?: PortSpec;
  /** The type the port carries now (inferred output, or what arrives at an input). */
  now?: PortType;
  fit?: boolean;
  error?: string;
  /** Far out: the handle alone (the row keeps its height, so wires stay where they were). */
  far?: boolean;
}

function PortRow({ nodeId, port, side, spec, now, fit, error, far }: RowProps) {
  const color = spec ? PORT_COLORS[spec.kind] : '#999';
  const declared = spec ? describeType(spec) : 'unknown';
  const shown = now ? portLabel(now) : declared;
  const tip = [`${port}: ${declared}`, now && shown !== declared ? `now ${shown}` : '', spec?.multi ? 'takes many wires' : '', spec?.optional ? 'optional' : '', spec?.doc ?? '', error ?? '']
    .filter(Boolean)
    .join('\n');
  const cls = ['port', side, fit === true ? 'fit' : fit === false ? 'dim' : '', error ? 'bad' : '', spec?.optional ? 'optional' : ''].filter(Boolean).join(' ');
  return (
    <div className={cls} title={tip} data-testid={`port-${nodeId}-${side}-${port}`}>
      <Handle
        type={side === 'in' ? 'target' : 'source'}
        position={side === 'in' ? Position.Left : Position.Right}
        id={port}
        className={`kind-${spec?.kind ?? 'unknown'}${spec?.multi ? ' multi' : ''}`}
        style={{ background: color, borderColor: color }}
        data-testid={`handle-${nodeId}-${side}-${port}`}
      />
      {!far && (
        <>
          <span className="name">
            {port}
            {spec?.multi ? ' ⋯' : ''}
            {spec?.optional ? '?' : ''}
          </span>
          <span className="type" style={{ color }}>
            {shown}
          </span>
        </>
      )}
    </div>
  );
}

function UnknownCard({ id, data }: { id: string; data: WeftNodeData }) {
  const { node, info } = data;
  return (
    <div className="weft-node unknown error" data-testid={`node-${id}`}>
      <Header id={id} title={`unknown: ${node.type}`} color="#777" />
      {info.ghost?.inputs.map((p) => <PortRow key={`i${p}`} nodeId={id} port={p} side="in" />)}
      {info.ghost?.outputs.map((p) => <PortRow key={`o${p}`} nodeId={id} port={p} side="out" />)}
      <pre className="raw nodrag nowheel">{JSON.stringify(node.params, null, 1)}</pre>
      <ul className="issues" data-testid={`issues-${id}`}>
        {info.issues.map((e, i) => (
          <li key={i}>{e.message}</li>
        ))}
      </ul>
    </div>
  );
}

function NodeCardImpl({ id, data, selected }: NodeProps<WeftNode>) {
  const api = useContext(EditorCtx)!;
  const connecting = useContext(ConnectingCtx);
  const far = useStore(isFar);
  const { node, info } = data;
  const kind = info.kind;
  if (!kind) return <UnknownCard id={id} data={data} />;
  const fit = connecting ? handleFit(api, connecting, id, kind) : undefined;
  const anyFit = fit ? [...fit.values()].some(Boolean) : false;
  const portError = (port: string) => info.issues.find((e) => e.port === port)?.message;
  const cls = ['weft-node', far ? 'far' : '', selected ? 'selected' : '', info.issues.length ? 'error' : '', fit ? (anyFit ? 'connect-fit' : 'connect-dim') : ''].filter(Boolean).join(' ');
  const onParam = (name: string, value: unknown) => api.setParam(id, name, value);
  return (
    <div className={cls} data-testid={`node-${id}`} data-type={node.type}>
      <Header id={id} title={kind.title} color={CATEGORY_COLORS[kind.category]} far={far} />
      {Object.entries(kind.inputs).map(([port, spec]) => (
        <PortRow key={`i${port}`} nodeId={id} port={port} side="in" spec={spec} now={info.in[port]?.[0]} fit={fit?.get(`in:${port}`)} error={portError(port)} far={far} />
      ))}
      {Object.entries(kind.outputs).map(([port, spec]) => (
        <PortRow key={`o${port}`} nodeId={id} port={port} side="out" spec={spec} now={info.out?.[port]} fit={fit?.get(`out:${port}`)} far={far} />
      ))}
      {!far && Object.keys(kind.params).length > 0 && (
        <div className="params">
          {Object.entries(kind.params as Record<string, ParamSpec>).map(([name, spec]) => (
            <label key={name} className={portError(name) ? 'bad' : ''} title={spec.doc ?? ''}>
              <span>{spec.label ?? name}</span>
              <ParamWidget nodeId={id} name={name} spec={spec} value={name in node.params ? node.params[name] : spec.default} onChange={onParam} />
            </label>
          ))}
        </div>
      )}
      {info.issues.length > 0 && (
        <ul className="issues" data-testid={`issues-${id}`}>
          {info.issues.map((e, i) => (
            <li key={i}>{e.message}</li>
          ))}
        </ul>
      )}
      <NodeRunBadge id={id} />
      {(!far || Object.keys(kind.display).length > 0) && <NodePreview id={id} type={node.type} />}
    </div>
  );
}

export const NodeCard = memo(NodeCardImpl);
