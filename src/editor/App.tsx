/**
 * The editor page: the start graph (from the persistence part), one store for it, one compile per
 * edit, and around the canvas the parts that run it (RunProvider, RunToolbar, TrainPanel) and save
 * it (useAutosave, FileMenu). `window.__weft.editor` drives the same store from tests.
 */
import { ReactFlowProvider } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { GraphDoc } from '../graph/index.ts';
import { createRegistry } from '../nodes/index.ts';
import { compile } from '../runtime/index.ts';
import { Canvas, type BeforeOpen } from './canvas/Canvas.tsx';
import { EditorCtx, type EditorApi, type NoticeKind } from './canvas/context.ts';
import { Inspector } from './canvas/Inspector.tsx';
import { badEdges, emptyCache, nodeInfos } from './canvas/view.ts';
import { indexGraph } from './connect.ts';
import { renameNode, setNodeParam } from './graph-ops.ts';
import { weftGlobal } from './global.ts';
import { FileMenu, loadStartDoc, useAutosave } from './persist/index.tsx';
import { RunProvider, RunToolbar, TrainPanel, type EditFn } from './run/index.tsx';
import { EditError, EditorStore, type Recipe } from './store.ts';

const registry = createRegistry();

export function App() {
  const [start, setStart] = useState<{ doc: GraphDoc; name: string } | { error: string }>();
  useEffect(() => {
    loadStartDoc().then(setStart, (err: Error) => {
      weftGlobal().error = err.message;
      setStart({ error: err.message });
    });
  }, []);
  if (!start) return <div className="weft-app loading">Loading…</div>;
  if ('error' in start) {
    return (
      <pre className="error" data-testid="error">
        {start.error}
      </pre>
    );
  }
  return <Editor initial={start.doc} initialName={start.name} />;
}

interface Notice {
  text: string;
  kind: NoticeKind;
  at: number;
}

function Editor({ initial, initialName }: { initial: GraphDoc; initialName: string }) {
  const [store] = useState(() => new EditorStore(initial));
  const doc = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const [name, setName] = useState(initialName);
  const [notice, setNotice] = useState<Notice>();
  useAutosave(doc, name);

  // One compile per edit; everything the canvas shows is derived from it.
  const compiled = useMemo(() => compile(doc, registry), [doc]);
  const cache = useRef(emptyCache());
  const infos = useMemo(() => (cache.current = nodeInfos(doc, registry, compiled, cache.current)), [doc, compiled]);
  const bad = useMemo(() => badEdges(compiled), [compiled]);
  const index = useMemo(() => indexGraph(doc, registry, compiled.types), [doc, compiled]);
  const indexRef = useRef(index);
  indexRef.current = index;

  const notify = useCallback((text: string, kind: NoticeKind = 'info') => setNotice({ text, kind, at: Date.now() }), []);
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(undefined), 8000);
    return () => clearTimeout(t);
  }, [notice]);

  const api = useMemo<EditorApi>(() => {
    const edit = (label: string, recipe: Recipe): boolean => {
      try {
        return store.apply(label, recipe);
      } catch (err) {
        if (!(err instanceof EditError)) throw err;
        notify(err.message, 'error');
        return false;
      }
    };
    return {
      store,
      registry,
      index: () => indexRef.current,
      edit,
      setParam: (id, param, value) => void edit(`set ${id}.${param}`, (d) => setNodeParam(d, id, param, value)),
      rename: (id, next) => {
        if (edit(`rename ${id} → ${next}`, (d) => renameNode(d, id, next))) return null;
        return `could not rename "${id}"`;
      },
      notify,
    };
  }, [store, notify]);

  const editFn = useCallback<EditFn>((label, recipe) => void api.edit(label, recipe as Recipe), [api]);
  const beforeOpen = useRef<BeforeOpen>(undefined);
  const onOpen = useCallback((next: GraphDoc, nextName: string) => {
    beforeOpen.current?.(next);
    store.replace(`open ${nextName}`, next);
    setName(nextName);
  }, [store]);

  useEffect(() => {
    const w = weftGlobal();
    w.editor = {
      ...w.editor!,
      getDoc: () => store.doc,
      open: (d, n) => onOpen(d, n ?? d.name),
      undo: () => void store.undo(),
      redo: () => void store.redo(),
      history: () => store.history(),
    };
  }, [store, onOpen]);

  return (
    <EditorCtx.Provider value={api}>
      <RunProvider doc={doc} edit={editFn}>
        <ReactFlowProvider>
          <div className="weft-app">
            <header>
              <h1>Weft</h1>
              <FileMenu doc={doc} name={name} onOpen={onOpen} onRename={setName} />
              <span className="graph-name" data-testid="graph-name">{name}</span>
              <RunToolbar />
            </header>
            <main>
              <section className="canvas-wrap">
                <Canvas infos={infos} bad={bad} beforeOpen={beforeOpen} />
                <div className={`notice ${notice?.kind ?? ''}`} data-testid={notice?.kind === 'connect-error' ? 'connect-error' : 'notice'} role="status">
                  {notice?.text ?? `${doc.nodes.length} nodes · ${doc.edges.length} wires · ${compiled.errors.length ? `${compiled.errors.length} issues` : 'no issues'} · ? for shortcuts`}
                </div>
              </section>
              <aside>
                <Inspector infos={infos} />
                <TrainPanel />
              </aside>
            </main>
          </div>
        </ReactFlowProvider>
      </RunProvider>
    </EditorCtx.Provider>
  );
}
