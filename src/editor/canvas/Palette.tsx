/**
 * The palette: a searchable list of node kinds. Words match the kind's name, title, category and
 * port types ("model unet", "scheduler", "tensor out"); every word must match. Opened from a wire
 * dropped on empty canvas it lists only kinds with a port that wire can join.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { describeType, type AnyNodeKind } from '../../runtime/index.ts';
import { CATEGORY_COLORS } from './NodeCard.tsx';

export interface PaletteProps {
  kinds: AnyNodeKind[];
  /** Screen position of the top-left corner. */
  at: { x: number; y: number };
  /** Shown above the list when the palette is filtered for a wire. */
  title?: string;
  onPick(kind: AnyNodeKind): void;
  onClose(): void;
}

function haystack(k: AnyNodeKind): string {
  const ports = [...Object.entries(k.inputs), ...Object.entries(k.outputs)].map(([p, s]) => `${p} ${s.kind} ${describeType(s)}`);
  return [k.type, k.title, k.category, ...ports].join(' ').toLowerCase();
}

export function Palette({ kinds, at, title, onPick, onClose }: PaletteProps) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const list = useRef<HTMLUListElement>(null);
  const indexed = useMemo(() => kinds.map((k) => ({ k, text: haystack(k), name: `${k.type} ${k.title}`.toLowerCase() })), [kinds]);
  const shown = useMemo(() => {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const hits = indexed.filter((x) => words.every((w) => x.text.includes(w)));
    // names starting with the query first, then names holding every word, then port/category hits
    const phrase = words.join(' ');
    const score = (x: (typeof indexed)[number]) =>
      !words.length ? 0 : x.k.type.toLowerCase().startsWith(phrase.replace(/ /g, '')) || x.k.title.toLowerCase().startsWith(phrase) ? 0 : words.every((w) => x.name.includes(w)) ? 1 : 2;
    return hits.sort((a, b) => score(a) - score(b) || a.k.category.localeCompare(b.k.category) || a.k.type.localeCompare(b.k.type)).map((x) => x.k);
  }, [indexed, query]);
  useEffect(() => setActive(0), [query]);
  useEffect(() => {
    list.current?.children[active]?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const onKey = (e: KeyboardEvent) => {
    e.stopPropagation();
    if (e.key === 'ArrowDown') (e.preventDefault(), setActive((i) => Math.min(i + 1, shown.length - 1)));
    else if (e.key === 'ArrowUp') (e.preventDefault(), setActive((i) => Math.max(i - 1, 0)));
    else if (e.key === 'Enter' && shown[active]) (e.preventDefault(), onPick(shown[active]));
    else if (e.key === 'Escape' || e.key === 'Tab') (e.preventDefault(), onClose());
  };
  const left = Math.min(at.x, window.innerWidth - 340);
  const top = Math.min(at.y, window.innerHeight - 380);
  return (
    <div className="palette" data-testid="palette" style={{ left: Math.max(0, left), top: Math.max(0, top) }} onMouseDown={(e) => e.stopPropagation()}>
      {title && <div className="palette-title">{title}</div>}
      <input data-testid="palette-search" autoFocus placeholder="search kinds, categories, port types…" value={query} onChange={(e) => setQuery(e.target.value)} onKeyDown={onKey} onBlur={onClose} />
      <ul ref={list}>
        {shown.map((k, i) => (
          <li
            key={k.type}
            data-testid={`palette-item-${k.type}`}
            className={i === active ? 'active' : ''}
            onMouseEnter={() => setActive(i)}
            onMouseDown={(e) => (e.preventDefault(), onPick(k))}
            title={k.doc}
          >
            <span className="dot" style={{ background: CATEGORY_COLORS[k.category] }} />
            <b>{k.title}</b>
            <span className="cat">{k.category}</span>
          </li>
        ))}
        {shown.length === 0 && <li className="none">no kind matches</li>}
      </ul>
    </div>
  );
}
