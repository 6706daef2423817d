/**
 * `--set node.param=value`: edit a param for one run. The value is JSON when it parses as JSON
 * (5, 0.25, [1,8,8,4], true), else the raw text; text and choice params always take the raw text
 * unless it is a quoted JSON string, so `--set prompt.text=42` means the string "42".
 * Names are checked here against the graph and the node kind, listing the valid choices;
 * values are checked by compile, like any param in a graph file.
 */
import { setParam, type GraphDoc, type ParamSpec, type Registry } from '../index.ts';
import { CliError, EXIT, quoteList, type CliIssue } from './common.ts';

export interface ParsedSet {
  nodeId: string;
  param: string;
  raw: string;
}

export function parseSet(arg: string): ParsedSet {
  const eq = arg.indexOf('=');
  const key = eq < 0 ? arg : arg.slice(0, eq);
  // Node ids may contain dots; param names do not, so split at the last one.
  const dot = key.lastIndexOf('.');
  if (eq < 0 || dot <= 0 || dot === key.length - 1) {
    throw new CliError(`--set expects node.param=value, got "${arg}"`, EXIT.usage, [
      { code: 'bad-set', message: `--set expects node.param=value, got "${arg}"` },
    ]);
  }
  return { nodeId: key.slice(0, dot), param: key.slice(dot + 1), raw: arg.slice(eq + 1) };
}

export function parseSetValue(raw: string, spec?: ParamSpec): unknown {
  const textual = spec?.kind === 'text' || spec?.kind === 'enum';
  if (textual && !raw.trimStart().startsWith('"')) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** A copy of `doc` with every --set applied; every bad name is reported at once. */
export function applySets(doc: GraphDoc, registry: Registry, args: string[]): GraphDoc {
  const issues: CliIssue[] = [];
  let out = doc;
  for (const arg of args) {
    let set: ParsedSet;
    try {
      set = parseSet(arg);
    } catch (e) {
      issues.push(...(e as CliError).issues);
      continue;
    }
    const { nodeId, param, raw } = set;
    const node = doc.nodes.find((n) => n.id === nodeId);
    if (!node) {
      const ids = doc.nodes.map((n) => n.id);
      issues.push({ code: 'unknown-node', nodeId, message: `--set ${nodeId}.${param}: no node "${nodeId}"; nodes are ${quoteList(ids)}`, detail: { choices: ids } });
      continue;
    }
    const kind = registry.get(node.type);
    const specs = (kind?.params ?? {}) as Record<string, ParamSpec>;
    if (kind && !(param in specs)) {
      const names = Object.keys(specs);
      issues.push({
        code: 'unknown-param',
        nodeId,
        port: param,
        message: `--set ${nodeId}.${param}: ${kind.type} has no param "${param}"; its params are ${quoteList(names)}`,
        detail: { choices: names },
      });
      continue;
    }
    // An unknown kind is left to compile, which reports it with the rest of the graph.
    out = setParam(out, nodeId, param, parseSetValue(raw, specs[param]));
  }
  if (issues.length) throw new CliError(issues.map((i) => i.message).join('\n'), EXIT.usage, issues);
  return out;
}
