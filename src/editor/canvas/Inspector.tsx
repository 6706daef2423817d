/**
 * The side panel's view of the selection: one node's id (renamable: its wires follow), kind,
 * documentation and issues; for several nodes, how many.
 */
import { useStore } from '@xyflow/react';
import { useContext, useEffect, useState } from 'react';
import { EditorCtx } from './context.ts';
import type { InfoCache } from './view.ts';

export function Inspector({ infos }: { infos: InfoCache }) {
  const api = useContext(EditorCtx)!;
  const selected = useStore((s) => s.nodes.filter((n) => n.selected).map((n) => n.id).join('\n'));
  const ids = selected ? selected.split('\n') : [];
  const id = ids.length === 1 ? ids[0] : undefined;
  const [draft, setDraft] = useState(id ?? '');
  useEffect(() => setDraft(id ?? ''), [id]);
  if (!id) {
    return (
      <section className="inspector" data-testid="inspector">
        <h3>Inspector</h3>
        <p className="muted">{ids.length ? `${ids.length} nodes selected` : 'Select a node to see its details. Press ? for shortcuts.'}</p>
      </section>
    );
  }
  const info = infos.info.get(id);
  const node = api.store.doc.nodes.find((n) => n.id === id);
  const commit = () => {
    if (draft !== id && api.rename(id, draft)) setDraft(id);
  };
  return (
    <section className="inspector" data-testid="inspector">
      <h3>{info?.kind?.title ?? node?.type}</h3>
      <label>
        id{' '}
        <input data-testid="inspector-id" value={draft} onChange={(e) => setDraft(e.target.value)} onBlur={commit} onKeyDown={(e) => e.key === 'Enter' && commit()} />
      </label>
      <p className="muted">{info?.kind ? `${info.kind.type} · ${info.kind.category} · v${info.kind.version}` : `unknown kind "${node?.type}"`}</p>
      {info?.kind && <p className="doc">{info.kind.doc}</p>}
      {info && info.issues.length > 0 && (
        <ul className="issues">
          {info.issues.map((e, i) => (
            <li key={i}>{e.message}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
