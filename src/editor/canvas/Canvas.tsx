/**
 * The React Flow canvas over the store. React Flow's nodes and edges are derived from the
 * GraphDoc (an unchanged node keeps its object, so React Flow skips it); React Flow keeps only
 * view state: selection, measured sizes, positions mid-drag. A drag writes the positions back on
 * release as one edit; every other change goes through the store as one undoable edit.
 */
import {
  Background,
  Controls,
  Panel,
  ReactFlow,
  applyEdgeChanges,
  applyNodeChanges,
  getViewportForBounds,
  useReactFlow,
  useStoreApi,
  type Connection,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  type NodeChange,
  type OnConnectStartParams,
} from '@xyflow/react';
import { useCallback, useContext, useEffect, useLayoutEffect, useMemo, useRef, useState, type MouseEvent as ReactMouseEvent } from 'react';
import type { GraphDoc } from '../../graph/index.ts';
import { PORT_COLORS, type AnyNodeKind } from '../../runtime/index.ts';
import { compatiblePorts, connectionProblem, inputSpec, outputType, type PortEnd } from '../connect.ts';
import { addNode, connect, deleteItems, fragment, moveNodes, pasteFragment, readFragment } from '../graph-ops.ts';
import { weftGlobal } from '../global.ts';
import { ConnectingCtx, EditorCtx, type Connecting } from './context.ts';
import { useCanvasKeys } from './keys.ts';
import { autoLayout } from './layout.ts';
import { CATEGORY_COLORS, NodeCard, type WeftNode } from './NodeCard.tsx';
import { Overview } from './Overview.tsx';
import { Palette } from './Palette.tsx';
import { SHORTCUTS } from './shortcuts.ts';
import './canvas.css';
import type { InfoCache } from './view.ts';

const nodeTypes = { weft: NodeCard };
const overviewColor = (n: WeftNode) => (n.data.info.kind ? CATEGORY_COLORS[n.data.info.kind.category] : '#999');
/** Fit the graph, but never magnify past 1:1 (a lone node filling the screen helps nobody). */
const FIT = { maxZoom: 1, duration: 200 };

function deriveNodes(doc: GraphDoc, infos: InfoCache, prev: WeftNode[], select?: Set<string>): WeftNode[] {
  const byId = new Map(prev.map((n) => [n.id, n]));
  return doc.nodes.map((node) => {
    const p = byId.get(node.id);
    const info = infos.info.get(node.id)!;
    const selected = select ? select.has(node.id) : p?.selected ?? false;
    if (p && p.data.node === node && p.data.info === info && p.selected === selected) return p;
    return { id: node.id, type: 'weft', position: node.position, data: { node, info }, selected, ...(p?.measured ? { measured: p.measured } : {}) };
  });
}

function deriveEdges(doc: GraphDoc, bad: Map<string, string>, colorOf: (e: GraphDoc['edges'][number]) => string, prev: Edge[]): Edge[] {
  const byId = new Map(prev.map((e) => [e.id, e]));
  return doc.edges.map((e) => {
    const p = byId.get(e.id);
    const stroke = bad.has(e.id) ? '#d93025' : colorOf(e);
    if (p && p.data?.edge === e && p.style?.stroke === stroke) return p;
    return {
      id: e.id,
      source: e.from.node,
      target: e.to.node,
      sourceHandle: e.from.port,
      targetHandle: e.to.port,
      data: { edge: e },
      selected: p?.selected ?? false,
      className: bad.has(e.id) ? 'bad' : undefined,
      style: { stroke, strokeWidth: 2, ...(bad.has(e.id) ? { strokeDasharray: '6 4' } : {}) },
    };
  });
}

interface PaletteState {
  screen: { x: number; y: number };
  flow: { x: number; y: number };
  /** The wire it was opened from: only kinds that can take it, and the new node gets wired. */
  from?: Connecting;
}

/** Called just before another graph replaces the open one: frames it before it is drawn. */
export type BeforeOpen = (doc: GraphDoc) => void;

export function Canvas({ infos, bad, beforeOpen }: { infos: InfoCache; bad: Map<string, string>; beforeOpen: { current?: BeforeOpen } }) {
  const api = useContext(EditorCtx)!;
  const { store, registry } = api;
  const doc = store.doc;
  const rf = useReactFlow<WeftNode>();
  const rfStore = useStoreApi<WeftNode>();
  const [nodes, setNodes] = useState<WeftNode[]>(() => deriveNodes(doc, infos, []));
  const [edges, setEdges] = useState<Edge[]>([]);
  const pendingSelect = useRef<Set<string>>(undefined);
  const [connecting, setConnecting] = useState<Connecting | null>(null);
  const [palette, setPalette] = useState<PaletteState>();
  const [help, setHelp] = useState(false);
  const pointer = useRef({ x: 200, y: 200 });
  const [moving, setMoving] = useState(false);
  const onMoveStart = useCallback(() => setMoving(true), []);
  const onMoveEnd = useCallback(() => setMoving(false), []);

  const colorOf = useCallback((e: GraphDoc['edges'][number]) => {
    const t = outputType(api.index(), e.from);
    return t ? PORT_COLORS[t.kind] : '#999';
  }, [api]);

  useLayoutEffect(() => {
    const select = pendingSelect.current;
    pendingSelect.current = undefined;
    setNodes((prev) => deriveNodes(doc, infos, prev, select));
    setEdges((prev) => deriveEdges(doc, bad, colorOf, select ? prev.map((e) => (e.selected ? { ...e, selected: false } : e)) : prev));
  }, [doc, infos, bad, colorOf]);

  const onNodesChange = useCallback((changes: NodeChange<WeftNode>[]) => setNodes((ns) => applyNodeChanges(changes.filter((c) => c.type !== 'remove'), ns)), []);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => setEdges((es) => applyEdgeChanges(changes.filter((c) => c.type !== 'remove'), es)), []);

  const onNodeDragStop = useCallback(
    (_: unknown, __: WeftNode, dragged: WeftNode[]) => {
      api.edit(dragged.length > 1 ? `move ${dragged.length} nodes` : `move ${dragged[0].id}`, (d) => moveNodes(d, Object.fromEntries(dragged.map((n) => [n.id, n.position]))));
    },
    [api],
  );

  const wire = useCallback(
    (source: PortEnd, target: PortEnd): boolean => {
      const why = connectionProblem(api.index(), source, target);
      if (why) {
        api.notify(why, 'connect-error');
        return false;
      }
      const multi = !!inputSpec(api.index(), target)?.multi;
      return api.edit(`connect ${source.node}.${source.port} → ${target.node}.${target.port}`, (d) => void connect(d, source, target, multi));
    },
    [api],
  );

  const isValidConnection = useCallback(
    (c: Connection | Edge) => !!c.sourceHandle && !!c.targetHandle && !connectionProblem(api.index(), { node: c.source, port: c.sourceHandle }, { node: c.target, port: c.targetHandle }),
    [api],
  );
  const onConnect = useCallback((c: Connection) => void wire({ node: c.source, port: c.sourceHandle! }, { node: c.target, port: c.targetHandle! }), [wire]);
  const onConnectStart = useCallback((_: unknown, p: OnConnectStartParams) => {
    if (p.nodeId && p.handleId && p.handleType) setConnecting({ node: p.nodeId, port: p.handleId, side: p.handleType });
  }, []);

  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      const from = connecting;
      setConnecting(null);
      if (!from || state.isValid) return;
      const point = 'changedTouches' in event ? event.changedTouches[0] : event;
      const to = state.toHandle;
      if (to?.id) {
        if (to.type === from.side) return api.notify(`drop on ${from.side === 'source' ? 'an input (left side)' : 'an output (right side)'}: ${from.side === 'source' ? 'outputs' : 'inputs'} do not join each other`, 'connect-error');
        const other = { node: to.nodeId, port: to.id };
        const why = from.side === 'source' ? connectionProblem(api.index(), from, other) : connectionProblem(api.index(), other, from);
        return api.notify(why ?? 'this wire is not allowed', 'connect-error');
      }
      // Dropped on a node's body: join its first free compatible port.
      const target = document.elementFromPoint(point.clientX, point.clientY)?.closest('.react-flow__node')?.getAttribute('data-id');
      const kind = target ? api.index().kindOf.get(target) : undefined;
      if (target && target !== from.node) {
        if (!kind) return api.notify(`"${target}" is of an unknown kind`, 'connect-error');
        const ports = compatiblePorts(api.index(), from, kind);
        if (!ports.length) return api.notify(`no ${from.side === 'source' ? 'input' : 'output'} of "${target}" (${kind.type}) takes this wire`, 'connect-error');
        const taken = new Set(from.side === 'source' ? store.doc.edges.filter((e) => e.to.node === target).map((e) => e.to.port) : []);
        const port = ports.find((p) => !taken.has(p)) ?? ports[0];
        return void (from.side === 'source' ? wire(from, { node: target, port }) : wire({ node: target, port }, from));
      }
      if (!target) openPalette({ x: point.clientX, y: point.clientY }, from);
    },
    [connecting, api, wire, store],
  );

  const openPalette = (screen: { x: number; y: number }, from?: Connecting) =>
    setPalette({ screen, flow: rf.screenToFlowPosition(screen), from });

  const paletteKinds = useMemo(() => {
    const all = registry.list();
    const from = palette?.from;
    return from ? all.filter((k) => compatiblePorts(api.index(), from, k).length > 0) : all;
  }, [palette, registry, api]);

  const pick = (kind: AnyNodeKind) => {
    const p = palette!;
    setPalette(undefined);
    let id = '';
    const ok = api.edit(`add ${kind.type}`, (d) => {
      id = addNode(d, kind, p.flow);
      if (!p.from) return;
      const port = compatiblePorts(api.index(), p.from, kind)[0];
      if (p.from.side === 'source') connect(d, p.from, { node: id, port }, !!kind.inputs[port].multi);
      else connect(d, { node: id, port }, p.from, !!inputSpec(api.index(), p.from)?.multi);
    });
    if (ok) pendingSelect.current = new Set([id]);
  };

  const selectedIds = () => rf.getNodes().filter((n) => n.selected).map((n) => n.id);
  const paste = (text: string, at?: { x: number; y: number }) => {
    const frag = readFragment(text);
    if (!frag) return api.notify('the clipboard holds no Weft graph', 'info');
    let added: string[] = [];
    if (api.edit(`paste ${frag.nodes.length} nodes`, (d) => void (added = pasteFragment(d, frag, at)))) pendingSelect.current = new Set(added);
  };

  const layout = async () => {
    const sizes = new Map(rf.getNodes().map((n) => [n.id, { width: n.measured?.width ?? 220, height: n.measured?.height ?? 120 }]));
    const before = store.doc;
    const positions = await autoLayout(before, sizes);
    if (store.doc !== before) return; // edited meanwhile: a stale layout would undo that edit's moves
    api.edit('auto-layout', (d) => moveNodes(d, positions));
    requestAnimationFrame(() => void rf.fitView(FIT));
  };

  useCanvasKeys({
    deleteSelection: () => {
      const ns = selectedIds();
      const es = rf.getEdges().filter((e) => e.selected).map((e) => e.id);
      if (ns.length || es.length) api.edit(`delete ${ns.length} nodes, ${es.length} wires`, (d) => deleteItems(d, ns, es));
    },
    copyText: () => {
      const ids = selectedIds();
      return ids.length ? JSON.stringify(fragment(store.doc, ids)) : undefined;
    },
    cutSelection: () => {
      const ids = selectedIds();
      if (ids.length) api.edit(`cut ${ids.length} nodes`, (d) => deleteItems(d, ids));
    },
    pasteText: (text) => paste(text, rf.screenToFlowPosition(pointer.current)),
    duplicate: () => {
      const ids = selectedIds();
      if (ids.length) paste(JSON.stringify(fragment(store.doc, ids)));
    },
    selectAll: () => setNodes((ns) => ns.map((n) => (n.selected ? n : { ...n, selected: true }))),
    undo: () => void store.undo(),
    redo: () => void store.redo(),
    palette: () => openPalette(pointer.current),
    layout: () => void layout(),
    fit: () => void (rf.getNodes().length && rf.fitView(FIT)),
    toggleHelp: () => setHelp((h) => !h),
    escape: () => {
      setPalette(undefined);
      setHelp(false);
      setNodes((ns) => ns.map((n) => (n.selected ? { ...n, selected: false } : n)));
    },
  });

  // A big graph drawn first at the old zoom would render every node in full, then again small:
  // frame its positions (sizes guessed) before it renders, then fit exactly once it is measured.
  beforeOpen.current = (next) => {
    if (!next.nodes.length) return void rf.setViewport({ x: 0, y: 0, zoom: 1 });
    const xs = next.nodes.map((n) => n.position.x);
    const ys = next.nodes.map((n) => n.position.y);
    const [x, y] = [Math.min(...xs), Math.min(...ys)];
    const bounds = { x, y, width: Math.max(...xs) - x + 240, height: Math.max(...ys) - y + 200 };
    const { width, height, minZoom } = rfStore.getState();
    void rf.setViewport(getViewportForBounds(bounds, width, height, minZoom, 1, 0.1));
    void rf.fitView({ maxZoom: 1 }); // waits until the new nodes are measured
  };

  const layoutRef = useRef(layout);
  layoutRef.current = layout;
  useEffect(() => {
    const w = weftGlobal();
    w.editor = {
      ...w.editor!,
      selected: () => rf.getNodes().filter((n) => n.selected).map((n) => n.id),
      select: (ids) => setNodes((ns) => ns.map((n) => (n.selected === ids.includes(n.id) ? n : { ...n, selected: ids.includes(n.id) }))),
      layout: () => layoutRef.current(),
      setZoom: (zoom) => {
        const { width, height, transform } = rfStore.getState();
        const center = { x: (width / 2 - transform[0]) / transform[2], y: (height / 2 - transform[1]) / transform[2] };
        void rf.setCenter(center.x, center.y, { zoom });
      },
    };
  }, [rf, rfStore]);
  const onDoubleClick = (e: ReactMouseEvent) => {
    if ((e.target as Element).classList.contains('react-flow__pane')) openPalette({ x: e.clientX, y: e.clientY });
  };

  return (
    <ConnectingCtx.Provider value={connecting}>
      <div className={moving ? 'canvas moving' : 'canvas'} data-testid="canvas" onMouseMove={(e) => (pointer.current = { x: e.clientX, y: e.clientY })} onDoubleClick={onDoubleClick}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onNodeDragStop={onNodeDragStop}
          onMoveStart={onMoveStart}
          onMoveEnd={onMoveEnd}
          onConnect={onConnect}
          onConnectStart={onConnectStart}
          onConnectEnd={onConnectEnd}
          isValidConnection={isValidConnection}
          deleteKeyCode={null}
          selectionKeyCode="Shift"
          multiSelectionKeyCode={['Shift', 'Meta', 'Control']}
          zoomOnDoubleClick={false}
          minZoom={0.05}
          maxZoom={2.5}
          fitView
          fitViewOptions={FIT}
          onlyRenderVisibleElements
          proOptions={{ hideAttribution: true }}
        >
          <Background gap={24} />
          <Controls />
          <Overview colorOf={overviewColor} />
          <Panel position="top-left" className="edit-toolbar">
            <button data-testid="undo" onClick={() => store.undo()} title="Ctrl+Z">Undo</button>
            <button data-testid="redo" onClick={() => store.redo()} title="Ctrl+Shift+Z">Redo</button>
            <button data-testid="add-node" onClick={() => openPalette({ x: 120, y: 120 })} title="Tab or double-click">Add node</button>
            <button data-testid="layout" onClick={() => void layout()} title="L">Auto-layout</button>
            <button data-testid="fit" onClick={() => void (rf.getNodes().length && rf.fitView(FIT))} title="F">Fit</button>
            <button data-testid="help-button" onClick={() => setHelp((h) => !h)} title="?">?</button>
          </Panel>
        </ReactFlow>
        {palette && (
          <Palette
            kinds={paletteKinds}
            at={palette.screen}
            title={palette.from ? `kinds that take ${palette.from.node}.${palette.from.port}` : undefined}
            onPick={pick}
            onClose={() => setPalette(undefined)}
          />
        )}
        {help && (
          <div className="help" data-testid="help">
            <h3>Shortcuts</h3>
            <table>
              <tbody>
                {SHORTCUTS.map((s) => (
                  <tr key={s.keys}>
                    <th>{s.keys}</th>
                    <td>{s.what}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <button onClick={() => setHelp(false)}>Close</button>
          </div>
        )}
      </div>
    </ConnectingCtx.Provider>
  );
}
