/**
 * The node reference (docs/nodes.md), rendered from the node definitions themselves: ports,
 * params, limits, defaults and docs are read from each defineNode object, never written twice.
 */
import type { AnyNodeKind } from './define.ts';
import type { ParamSpec } from './params.ts';
import { describeType, type PortSpec } from './ports.ts';

const CATEGORY_ORDER = ['sources', 'math', 'text', 'diffusion', 'vae', 'gan', 'flow', 'data', 'losses', 'training', 'outputs'];

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function portRows(ports: Record<string, PortSpec>): string[] {
  return Object.entries(ports).map(([name, p]) => {
    const flags = [p.multi && 'multi', p.optional && 'optional'].filter(Boolean).join(', ');
    return `| \`${name}\` | \`${describeType(p)}\`${flags ? ` (${flags})` : ''} | ${cell(p.doc ?? '')} |`;
  });
}

function describeParam(spec: ParamSpec): string {
  switch (spec.kind) {
    case 'number':
    case 'int': {
      const range = spec.min !== undefined || spec.max !== undefined ? ` in [${spec.min ?? '−∞'}, ${spec.max ?? '∞'}]` : '';
      return `${spec.kind}${range}`;
    }
    case 'enum':
      return `one of ${spec.options.map((o) => `\`${o}\``).join(', ')}`;
    case 'shape':
      return `shape (up to ${spec.maxRank} dims)`;
    default:
      return spec.kind;
  }
}

export function renderNodeReference(kinds: AnyNodeKind[]): string {
  const out: string[] = [
    '# Node reference',
    '',
    '<!-- Generated from the node definitions by `npm run docs`; do not edit by hand. -->',
    '',
    `${kinds.length} node kinds. Tensors are NHWC float32 unless a port says otherwise; \`?\` is an unknown dim.`,
    '',
  ];
  const byCategory = new Map<string, AnyNodeKind[]>();
  for (const k of kinds) byCategory.set(k.category, [...(byCategory.get(k.category) ?? []), k]);
  const categories = [...byCategory.keys()].sort((a, b) => CATEGORY_ORDER.indexOf(a) - CATEGORY_ORDER.indexOf(b));
  for (const category of categories) {
    out.push(`## ${category}`, '');
    for (const k of byCategory.get(category)!) {
      out.push(`### ${k.title} (\`${k.type}\`${k.version > 1 ? `, v${k.version}` : ''})`, '', k.doc, '');
      const sections: Array<[string, Record<string, PortSpec>]> = [
        ['Inputs', k.inputs],
        ['Outputs', k.outputs],
        ['Shows', k.display],
      ];
      for (const [title, ports] of sections) {
        if (!Object.keys(ports).length) continue;
        out.push(`${title}:`, '', '| port | type | |', '| --- | --- | --- |', ...portRows(ports), '');
      }
      const params = Object.entries(k.params as Record<string, ParamSpec>);
      if (params.length) {
        out.push('Params:', '', '| param | kind | default | |', '| --- | --- | --- | --- |');
        for (const [name, spec] of params) {
          out.push(`| \`${name}\` | ${describeParam(spec)} | \`${cell(JSON.stringify(spec.default))}\` | ${cell(spec.doc ?? '')} |`);
        }
        out.push('');
      }
      const volatile = typeof k.volatile === 'function' ? 'when its params say so' : k.volatile ? 'always' : '';
      if (volatile) out.push(`Never cached (${volatile}).`, '');
    }
  }
  return out.join('\n');
}
