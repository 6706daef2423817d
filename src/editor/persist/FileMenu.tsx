/**
 * The header's File menu: New, the graph library (open, save as, rename, duplicate, delete, each
 * with its updated time), the examples gallery, import/export JSON, the share link and PNG export
 * of an ImageOutput with the graph embedded. It also opens PNG and JSON files dropped anywhere on
 * the page. Every open goes through `onOpen` (one undoable step); nothing here runs a graph.
 */
import { useCallback, useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { GRAPH_FORMAT, GRAPH_VERSION, loadGraph, parseGraph, serializeGraph, type GraphDoc } from '../../graph/index.ts';
import { shareUrl } from '../../graph/share.ts';
import { examples } from '../examples.ts';
import { useImageOutputs } from '../run/index.tsx';
import { persistState, tell } from './autosave.ts';
import { deleteGraph, duplicateGraph, getGraph, listGraphs, renameGraph, saveGraph, updateGraph, type LibraryEntry } from './db.ts';
import { describe, download, exportJson, fileStem, graphFromFile, pickImage, pngWithGraph } from './files.ts';
import './persist.css';

interface Props {
  doc: GraphDoc;
  name: string;
  onOpen: (doc: GraphDoc, name: string) => void;
  onRename: (name: string) => void;
  /** The ImageOutput whose picture Export PNG writes (default: a selected one, else "preview", else the first with one). */
  imageNodeId?: string;
}

/** Links longer than this open in Chromium but may be cut by chat apps and mail. */
const LONG_LINK = 32_000;

const emptyGraph = (): GraphDoc => ({ format: GRAPH_FORMAT, version: GRAPH_VERSION, name: 'Untitled', nodes: [], edges: [], meta: {} });

export function FileMenu({ doc, name, onOpen, onRename, imageNodeId }: Props) {
  const state = useSyncExternalStore(persistState.subscribe, persistState.get);
  const [open, setOpen] = useState(false);
  const [link, setLink] = useState<string>();
  const images = useImageOutputs();
  const root = useRef<HTMLDivElement>(null);

  const openDoc = useCallback(
    (next: GraphDoc, nextName: string, libraryId?: string) => {
      persistState.set({ libraryId });
      onOpen(next, nextName);
      setLink(undefined);
    },
    [onOpen],
  );

  const openFile = useCallback(
    async (file: File) => {
      const r = await graphFromFile(file);
      if ('error' in r) return tell(r.error, 'error');
      openDoc(r.doc, r.name);
      tell(`opened ${file.name} (not run)`);
      setOpen(false);
    },
    [openDoc],
  );
  useFileDrop(openFile);

  // Escape or a click outside closes the panel.
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    const onDown = (e: PointerEvent) => root.current && !root.current.contains(e.target as Node) && setOpen(false);
    addEventListener('keydown', onKey);
    addEventListener('pointerdown', onDown);
    return () => {
      removeEventListener('keydown', onKey);
      removeEventListener('pointerdown', onDown);
    };
  }, [open]);

  const copyLink = async () => {
    const url = await shareUrl(doc, location.href);
    setLink(url);
    try {
      await navigator.clipboard.writeText(url);
      tell(url.length > LONG_LINK ? `link copied (${url.length} characters: some apps cut links this long)` : 'link copied');
    } catch {
      tell('copy the link from the box (the clipboard is not available here)');
    }
  };

  const exportPng = async () => {
    const id = pickImage(doc, images, [imageNodeId, ...selectedOnCanvas()]);
    if (!id) return tell('no picture to export yet: run the graph first (Export PNG saves an ImageOutput)', 'error');
    try {
      download(await pngWithGraph(images[id], doc), `${fileStem(name)}-${fileStem(id)}.png`, 'image/png');
      tell(`exported ${id} as PNG with the graph inside`);
    } catch (err) {
      tell(`could not export the PNG: ${(err as Error).message}`, 'error');
    }
  };

  return (
    <div className="file-menu" ref={root}>
      <button data-testid="file-menu" aria-expanded={open} onClick={() => setOpen(!open)}>
        File
      </button>
      <AutosaveStatus savedAt={state.savedAt} error={state.saveError} />
      {state.message && <Message key={state.message.at} text={state.message.text} kind={state.message.kind} />}
      {open && (
        <div className="file-panel" data-testid="file-panel">
          <section className="file-actions">
            <button data-testid="new-graph" onClick={() => (openDoc(emptyGraph(), 'Untitled'), setOpen(false))}>
              New
            </button>
            <label className="button" data-testid="import-json">
              Import…
              <input
                type="file"
                data-testid="import-file"
                accept=".json,.png,application/json,image/png"
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  e.target.value = '';
                  if (f) void openFile(f);
                }}
              />
            </label>
            <button data-testid="export-json" onClick={() => tell(`downloaded ${exportJson(doc, name)}`)}>
              Export JSON
            </button>
            <button data-testid="export-png" onClick={() => void exportPng()}>
              Export PNG
            </button>
            <button data-testid="share-link" onClick={() => void copyLink()}>
              Copy share link
            </button>
          </section>
          {link && <input className="share-url" data-testid="share-url" readOnly value={link} onFocus={(e) => e.target.select()} />}
          <Library doc={doc} name={name} libraryId={state.libraryId} onOpen={openDoc} onRename={onRename} />
          <Examples onOpen={(d, n) => (openDoc(d, n), setOpen(false))} />
        </div>
      )}
    </div>
  );
}

function AutosaveStatus({ savedAt, error }: { savedAt?: number; error?: string }) {
  if (error) return <span className="autosave error" data-testid="autosave-status" title={error}>not saved</span>;
  return (
    <span className="autosave" data-testid="autosave-status" data-saved-at={savedAt ?? ''}>
      {savedAt ? `saved ${new Date(savedAt).toLocaleTimeString()}` : ''}
    </span>
  );
}

/** A message that fades after a while (errors stay until closed). */
function Message({ text, kind }: { text: string; kind: 'info' | 'error' }) {
  const [shown, setShown] = useState(true);
  useEffect(() => {
    if (kind === 'error') return;
    const t = setTimeout(() => setShown(false), 6000);
    return () => clearTimeout(t);
  }, [kind]);
  if (!shown) return null;
  return (
    <div className={`file-message ${kind}`} data-testid={kind === 'error' ? 'file-error' : 'file-notice'} role={kind === 'error' ? 'alert' : 'status'}>
      <pre>{text}</pre>
      <button aria-label="close" data-testid="file-message-close" onClick={() => setShown(false)}>
        ×
      </button>
    </div>
  );
}

function Library({ doc, name, libraryId, onOpen, onRename }: { doc: GraphDoc; name: string; libraryId?: string; onOpen: (d: GraphDoc, n: string, id?: string) => void; onRename: (n: string) => void }) {
  const [entries, setEntries] = useState<LibraryEntry[]>();
  const [renaming, setRenaming] = useState<string>();
  const [saveAs, setSaveAs] = useState(name);
  const [deleted, setDeleted] = useState<LibraryEntry>();

  const refresh = useCallback(() => listGraphs().then(setEntries, (err: Error) => tell(`the library is unavailable: ${err.message}`, 'error')), []);
  useEffect(() => void refresh(), [refresh, libraryId]);

  const act = (fn: () => Promise<unknown>) => () => void fn().then(refresh, (err: Error) => tell(err.message, 'error'));

  const current = entries?.find((e) => e.id === libraryId);
  const json = current ? serializeGraph(doc) : undefined;
  const saveCurrent = act(async () => {
    if (!current || !(await updateGraph(current.id, json!, doc.nodes.length))) throw new Error('that graph is no longer in the library: use “Save as”');
    tell(`saved “${current.name}”`);
  });

  const save = act(async () => {
    const entry = await saveGraph({ name: saveAs, json: serializeGraph(doc), nodes: doc.nodes.length });
    persistState.set({ libraryId: entry.id });
    onRename(entry.name);
    tell(`saved to the library as "${entry.name}"`);
  });

  const openEntry = (id: string) =>
    act(async () => {
      const e = await getGraph(id);
      if (!e) throw new Error('that graph is no longer in the library');
      const { doc: d, errors } = parseGraph(e.json);
      if (!d || errors.length) throw new Error(`cannot open "${e.name}":\n${describe(errors)}`);
      onOpen(d, e.name, e.id);
    });

  const rename = (e: LibraryEntry, next: string) =>
    act(async () => {
      setRenaming(undefined);
      if (!next.trim() || next === e.name) return;
      const given = await renameGraph(e.id, next);
      if (e.id === libraryId) onRename(given);
    });

  const remove = (e: LibraryEntry) =>
    act(async () => {
      await deleteGraph(e.id);
      if (e.id === libraryId) persistState.set({ libraryId: undefined });
      setDeleted(e);
    });

  const undoDelete = act(async () => {
    if (!deleted) return;
    await saveGraph({ id: deleted.id, name: deleted.name, json: deleted.json, nodes: deleted.nodes });
    setDeleted(undefined);
  });

  return (
    <section className="library" data-testid="library">
      <h3>Library</h3>
      {current && (
        <p className="save-current">
          <button data-testid="save-graph" disabled={current.json === json} onClick={saveCurrent}>
            {current.json === json ? `“${current.name}” is saved` : `Save “${current.name}”`}
          </button>
        </p>
      )}
      <form
        className="save-as"
        onSubmit={(ev) => {
          ev.preventDefault();
          save();
        }}
      >
        <input data-testid="save-name" value={saveAs} onChange={(e) => setSaveAs(e.target.value)} aria-label="name to save as" />
        <button type="submit" data-testid="save-as">
          Save as
        </button>
      </form>
      {deleted && (
        <p className="deleted">
          deleted “{deleted.name}” <button data-testid="library-undo-delete" onClick={undoDelete}>undo</button>
        </p>
      )}
      {entries === undefined ? (
        <p className="muted">loading…</p>
      ) : entries.length === 0 ? (
        <p className="muted" data-testid="library-empty">nothing saved yet: “Save as” puts the open graph here</p>
      ) : (
        <ul>
          {entries.map((e) => (
            <li key={e.id} data-testid={`library-item-${e.name}`} className={e.id === libraryId ? 'current' : ''}>
              {renaming === e.id ? (
                <RenameBox initial={e.name} onDone={(next) => rename(e, next)()} />
              ) : (
                <button className="link" data-testid={`library-open-${e.name}`} onClick={openEntry(e.id)} title="open">
                  {e.name}
                </button>
              )}
              <span className="meta">
                {e.nodes} nodes · <time dateTime={new Date(e.updated).toISOString()}>{ago(e.updated)}</time>
              </span>
              <IconButton id={`library-rename-${e.name}`} label="rename" onClick={() => setRenaming(e.id)}>rename</IconButton>
              <IconButton id={`library-duplicate-${e.name}`} label="duplicate" onClick={act(() => duplicateGraph(e.id))}>copy</IconButton>
              <IconButton id={`library-delete-${e.name}`} label="delete" onClick={remove(e)}>delete</IconButton>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function RenameBox({ initial, onDone }: { initial: string; onDone: (name: string) => void }) {
  const [value, setValue] = useState(initial);
  return (
    <input
      autoFocus
      data-testid="library-rename-input"
      value={value}
      onChange={(e) => setValue(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') onDone(value);
        if (e.key === 'Escape') onDone(initial);
      }}
      onBlur={() => onDone(value)}
    />
  );
}

function IconButton({ id, label, onClick, children }: { id: string; label: string; onClick: () => void; children: ReactNode }) {
  return (
    <button className="icon" data-testid={id} aria-label={label} title={label} onClick={onClick}>
      {children}
    </button>
  );
}

/** The examples, loaded once: name, node count and description for the gallery. */
let gallery: Array<{ key: string; doc: GraphDoc; description: string }> | undefined;
const examplesGallery = () =>
  (gallery ??= Object.entries(examples)
    .map(([key, text]) => {
      try {
        const doc = loadGraph(text);
        return { key, doc, description: typeof doc.meta.description === 'string' ? doc.meta.description : '' };
      } catch {
        return undefined; // a broken example is the example's test's business, not the menu's
      }
    })
    .filter((x) => x !== undefined));

function Examples({ onOpen }: { onOpen: (doc: GraphDoc, name: string) => void }) {
  const list = examplesGallery();
  return (
    <section className="examples" data-testid="examples">
      <h3>Examples</h3>
      <ul>
        {list.map(({ key, doc, description }) => (
          <li key={key}>
            <button className="link" data-testid={`example-${key}`} onClick={() => onOpen(structuredClone(doc), key)} title={description}>
              {doc.name}
            </button>
            <span className="meta">{doc.nodes.length} nodes</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Ids of the nodes selected on the React Flow canvas (read from its DOM: this menu may sit outside its provider). */
const selectedOnCanvas = (): string[] =>
  Array.from(document.querySelectorAll('.react-flow__node.selected'), (el) => el.getAttribute('data-id') ?? '').filter(Boolean);

const ago = (t: number): string => {
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
};

/** Opens a PNG or JSON file dropped anywhere on the page (other drags, like the palette's, pass through). */
function useFileDrop(openFile: (f: File) => Promise<void>): void {
  useEffect(() => {
    const hasFiles = (e: DragEvent) => !!e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files');
    const onOver = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer!.dropEffect = 'copy';
      document.body.classList.add('weft-file-over');
    };
    const onLeave = (e: DragEvent) => {
      if (!e.relatedTarget) document.body.classList.remove('weft-file-over');
    };
    const onDrop = (e: DragEvent) => {
      document.body.classList.remove('weft-file-over');
      if (!hasFiles(e)) return;
      e.preventDefault();
      const file = e.dataTransfer!.files[0];
      if (file) void openFile(file);
    };
    addEventListener('dragover', onOver);
    addEventListener('dragleave', onLeave);
    addEventListener('drop', onDrop);
    return () => {
      removeEventListener('dragover', onOver);
      removeEventListener('dragleave', onLeave);
      removeEventListener('drop', onDrop);
    };
  }, [openFile]);
}
