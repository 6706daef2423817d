// Writes docs/nodes.md from the registered node definitions (npm run docs).
import { writeFileSync } from 'node:fs';
import { builtinKinds } from '../src/nodes/index.ts';
import { renderNodeReference } from '../src/runtime/docs.ts';

const target = new URL('../docs/nodes.md', import.meta.url);
writeFileSync(target, renderNodeReference(builtinKinds));
console.log(`wrote ${target.pathname} (${builtinKinds.length} kinds)`);
