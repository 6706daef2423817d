import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderNodeReference } from '../runtime/docs.ts';
import { builtinKinds } from './index.ts';

describe('the node reference', () => {
  it('docs/nodes.md is what the node definitions generate (run `npm run docs` after changing a kind)', () => {
    const committed = readFileSync(new URL('../../docs/nodes.md', import.meta.url), 'utf8');
    expect(committed).toBe(renderNodeReference(builtinKinds));
  });

  it('documents every kind, port and param', () => {
    const text = renderNodeReference(builtinKinds);
    for (const k of builtinKinds) {
      expect(k.doc.length, `${k.type} needs a doc`).toBeGreaterThan(10);
      expect(text).toContain(`(\`${k.type}\``);
      for (const name of [...Object.keys(k.inputs), ...Object.keys(k.outputs), ...Object.keys(k.params)]) expect(text).toContain(`\`${name}\``);
    }
  });
});
