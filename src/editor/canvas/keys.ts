/**
 * Keyboard shortcuts and the system clipboard for the canvas (the list users see is
 * shortcuts.ts). Keys typed into a field (a param, the palette, a rename) are left alone.
 * Copy and paste go through the DOM copy/paste events, which carry the system clipboard without a
 * permission prompt, so a graph copied in one tab pastes in another; where a browser sends no
 * event, the async Clipboard API and then an in-page copy stand in.
 */
import { useEffect, useRef } from 'react';

export interface KeyActions {
  deleteSelection(): void;
  copyText(): string | undefined;
  cutSelection(): void;
  pasteText(text: string): void;
  duplicate(): void;
  selectAll(): void;
  undo(): void;
  redo(): void;
  palette(): void;
  layout(): void;
  fit(): void;
  toggleHelp(): void;
  escape(): void;
}

const typing = (t: EventTarget | null): boolean =>
  t instanceof HTMLElement && (t.isContentEditable || t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');

export function useCanvasKeys(actions: KeyActions): void {
  const ref = useRef(actions);
  ref.current = actions;
  useEffect(() => {
    let memory: string | undefined; // the last copy, for a browser without clipboard events
    let copied = false;
    let pasted = false;
    const a = () => ref.current;

    const onCopy = (e: ClipboardEvent) => {
      if (typing(e.target) || window.getSelection()?.toString()) return;
      const text = a().copyText();
      if (!text) return;
      e.clipboardData?.setData('text/plain', text);
      e.preventDefault();
      memory = text;
      copied = true;
    };
    const onCut = (e: ClipboardEvent) => {
      if (typing(e.target)) return;
      onCopy(e);
      if (copied) a().cutSelection();
    };
    const onPaste = (e: ClipboardEvent) => {
      if (typing(e.target)) return;
      const text = e.clipboardData?.getData('text/plain');
      pasted = true;
      if (text) {
        e.preventDefault();
        a().pasteText(text);
      }
    };
    const onKey = (e: KeyboardEvent) => {
      if (typing(e.target) || e.altKey) return;
      const mod = e.ctrlKey || e.metaKey;
      const k = e.key.toLowerCase();
      if (mod && k === 'z') (e.preventDefault(), e.shiftKey ? a().redo() : a().undo());
      else if (mod && k === 'y') (e.preventDefault(), a().redo());
      else if (mod && k === 'd') (e.preventDefault(), a().duplicate());
      else if (mod && k === 'a') (e.preventDefault(), a().selectAll());
      else if (mod && (k === 'c' || k === 'x')) {
        copied = false;
        setTimeout(() => {
          if (copied) return;
          const text = a().copyText(); // no copy event came: write through the Clipboard API
          if (!text) return;
          memory = text;
          navigator.clipboard?.writeText(text).catch(() => {});
          if (k === 'x') a().cutSelection();
        }, 0);
      } else if (mod && k === 'v') {
        pasted = false;
        setTimeout(async () => {
          if (pasted) return;
          const text = await navigator.clipboard?.readText().catch(() => undefined);
          const use = text || memory;
          if (use) a().pasteText(use);
        }, 50);
      } else if (mod) return;
      else if (e.key === 'Delete' || e.key === 'Backspace') (e.preventDefault(), a().deleteSelection());
      else if (e.key === 'Tab') (e.preventDefault(), a().palette());
      else if (e.key === '?') (e.preventDefault(), a().toggleHelp());
      else if (e.key === 'Escape') a().escape();
      else if (k === 'l' && !e.shiftKey) a().layout();
      else if (k === 'f' && !e.shiftKey) a().fit();
    };
    window.addEventListener('keydown', onKey);
    document.addEventListener('copy', onCopy);
    document.addEventListener('cut', onCut);
    document.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('keydown', onKey);
      document.removeEventListener('copy', onCopy);
      document.removeEventListener('cut', onCut);
      document.removeEventListener('paste', onPaste);
    };
  }, []);
}
