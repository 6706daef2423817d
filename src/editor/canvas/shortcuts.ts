/** Every canvas shortcut, listed once: the help panel (`?`) and docs/editor.md show this list. */
export interface Shortcut {
  keys: string;
  what: string;
}

export const SHORTCUTS: Shortcut[] = [
  { keys: 'Double-click canvas / Tab', what: 'open the palette at the pointer (type to search, ↑↓ to choose, Enter to add)' },
  { keys: 'Drag from a port', what: 'wire it; incompatible ports dim, a refused drop says why' },
  { keys: 'Drop a wire on empty canvas', what: 'palette of kinds with a compatible port; the new node is wired' },
  { keys: 'Click / Shift+click', what: 'select / add to the selection' },
  { keys: 'Shift+drag', what: 'box-select' },
  { keys: 'Ctrl+A', what: 'select everything' },
  { keys: 'Delete / Backspace', what: 'delete the selection (a node takes its wires with it)' },
  { keys: 'Ctrl+C / Ctrl+X / Ctrl+V', what: 'copy / cut / paste as graph JSON (works between tabs)' },
  { keys: 'Ctrl+D', what: 'duplicate the selection' },
  { keys: 'Ctrl+Z', what: 'undo' },
  { keys: 'Ctrl+Shift+Z / Ctrl+Y', what: 'redo' },
  { keys: 'L', what: 'auto-layout (left to right)' },
  { keys: 'F', what: 'fit the graph in view' },
  { keys: 'Double-click a node header', what: 'rename the node (wires follow)' },
  { keys: 'Drag the canvas / wheel', what: 'pan / zoom' },
  { keys: '?', what: 'show or hide this help' },
  { keys: 'Esc', what: 'close the palette or help, clear the selection' },
];
