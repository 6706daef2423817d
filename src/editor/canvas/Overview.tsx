/**
 * The minimap: every node as a rectangle in its category's colour, the view as a window in a
 * grey mask; drag it to pan, wheel over it to zoom (React Flow's own XYMinimap does the
 * interaction). Drawn as one SVG path per colour, so its cost hardly grows with the graph:
 * React Flow's MiniMap is a React component per node, and at 500 nodes it was about a sixth of
 * the time a graph took to open (bench/sections/editor.ts).
 */
import { Panel, useStore, useStoreApi, type InternalNode, type ReactFlowState } from '@xyflow/react';
import { getInternalNodesBounds, XYMinimap, type Rect, type XYMinimapInstance } from '@xyflow/system';
import { memo, useEffect, useMemo, useRef } from 'react';
import type { WeftNode } from './NodeCard.tsx';

const WIDTH = 200;
const HEIGHT = 150;
/** Margin around the drawn area, in minimap pixels. */
const MARGIN = 5;
/** Size assumed for a node React Flow has not measured yet. */
const UNMEASURED = { width: 220, height: 100 };

export interface OverviewProps {
  /** Fill of a node's rectangle. */
  colorOf: (node: WeftNode) => string;
}

/** The node rectangles as one path per fill: `M x y h w v h h -w z` per node. */
export function nodePaths(nodes: Iterable<InternalNode<WeftNode>>, colorOf: (n: WeftNode) => string): Map<string, string> {
  const parts = new Map<string, string[]>();
  for (const n of nodes) {
    if (n.hidden) continue;
    const { x, y } = n.internals.positionAbsolute;
    const w = n.measured.width ?? UNMEASURED.width;
    const h = n.measured.height ?? UNMEASURED.height;
    const fill = colorOf(n.internals.userNode);
    const list = parts.get(fill) ?? parts.set(fill, []).get(fill)!;
    list.push(`M${Math.round(x)} ${Math.round(y)}h${Math.round(w)}v${Math.round(h)}h${-Math.round(w)}z`);
  }
  return new Map([...parts].map(([fill, list]) => [fill, list.join('')]));
}

const viewOf = (s: ReactFlowState): Rect => ({ x: -s.transform[0] / s.transform[2], y: -s.transform[1] / s.transform[2], width: s.width / s.transform[2], height: s.height / s.transform[2] });

function OverviewImpl({ colorOf }: OverviewProps) {
  const store = useStoreApi();
  // `nodes` changes identity on every node change (positions, sizes); the lookup holds the measured state
  const nodes = useStore((s) => s.nodes);
  const nodeLookup = useStore((s) => s.nodeLookup) as unknown as Map<string, InternalNode<WeftNode>>;
  const view = useStore(viewOf, (a, b) => a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height);
  const panZoom = useStore((s) => s.panZoom);
  const translateExtent = useStore((s) => s.translateExtent);
  const flowSize = useStore((s) => `${s.width}x${s.height}`);
  const svg = useRef<SVGSVGElement>(null);
  const instance = useRef<XYMinimapInstance>(undefined);

  // the lookup is mutated in place; `nodes` changes with it (the canvas applies every position and
  // dimension change to its nodes), so it says when the lookup's contents changed
  const paths = useMemo(() => nodePaths(nodeLookup.values(), colorOf), [nodes, nodeLookup, colorOf]);
  const bounds = useMemo(() => (nodeLookup.size ? getInternalNodesBounds(nodeLookup, { filter: (n) => !n.hidden }) : undefined), [nodes, nodeLookup]);

  // What the minimap shows: the nodes and the view together, scaled to fit, centred
  const shown = bounds ? union(bounds, view) : view;
  const viewScale = Math.max(shown.width / WIDTH, shown.height / HEIGHT);
  const scaleRef = useRef(viewScale);
  scaleRef.current = viewScale;
  const margin = MARGIN * viewScale;
  const box = {
    x: shown.x - (WIDTH * viewScale - shown.width) / 2 - margin,
    y: shown.y - (HEIGHT * viewScale - shown.height) / 2 - margin,
    width: WIDTH * viewScale + 2 * margin,
    height: HEIGHT * viewScale + 2 * margin,
  };

  useEffect(() => {
    if (!svg.current || !panZoom) return;
    instance.current = XYMinimap({ domNode: svg.current, panZoom, getTransform: () => store.getState().transform, getViewScale: () => scaleRef.current });
    return () => instance.current?.destroy();
  }, [panZoom, store]);
  useEffect(() => {
    const [width, height] = flowSize.split('x').map(Number);
    instance.current?.update({ translateExtent, width, height, pannable: true, zoomable: true, zoomStep: 1 });
  }, [translateExtent, flowSize, panZoom]);

  const outer = `M${box.x - margin},${box.y - margin}h${box.width + 2 * margin}v${box.height + 2 * margin}h${-box.width - 2 * margin}z`;
  const inner = `M${view.x},${view.y}h${view.width}v${view.height}h${-view.width}z`;
  return (
    <Panel position="bottom-right" className="react-flow__minimap weft-overview" data-testid="minimap">
      <svg ref={svg} className="react-flow__minimap-svg" width={WIDTH} height={HEIGHT} viewBox={`${box.x} ${box.y} ${box.width} ${box.height}`} role="img" aria-label="minimap">
        {[...paths].map(([fill, d]) => (
          <path key={fill} d={d} fill={fill} data-fill={fill} />
        ))}
        <path className="react-flow__minimap-mask" d={`${outer}${inner}`} fillRule="evenodd" pointerEvents="none" data-testid="minimap-view" />
      </svg>
    </Panel>
  );
}

function union(a: Rect, b: Rect): Rect {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

export const Overview = memo(OverviewImpl);
