/**
 * Fuzzing the document boundary: whatever a user, a newer editor or a hostile file hands us,
 * parseGraph and compile answer with a plan or with structured issues, never an exception, and
 * loadGraph throws nothing but GraphError. Start points are the example graphs and random valid
 * graphs; mutations break them the ways real files break (missing, doubled and renamed nodes and
 * edges, edges to nothing, wrong types, junk params, wrong versions, cut-off text).
 *
 * This test reaches above src/graph (compile and the node registry) on purpose: the property is
 * about the whole load path an editor runs on every keystroke.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, createRegistry, GraphError, loadGraph, parseGraph, type GraphIssue, type IssueCode } from '../index.ts';

/** Every code a caller may see; typed so that adding a code to IssueCode forces an entry here. */
const KNOWN_CODES: Record<IssueCode, true> = {
  'malformed-json': true,
  'invalid-document': true,
  'unknown-format': true,
  'unsupported-version': true,
  'migration-failed': true,
  'duplicate-node-id': true,
  'duplicate-edge-id': true,
  'unknown-node-type': true,
  'unknown-port': true,
  'dangling-edge': true,
  'input-already-connected': true,
  'missing-input': true,
  'port-type-mismatch': true,
  cycle: true,
  'bad-param': true,
  'shape-mismatch': true,
  'tensor-too-large': true,
  'unknown-output': true,
  'not-trainable': true,
  'node-failed': true,
  cancelled: true,
};

/** Runs per property; a soak run raises it (WEFT_FUZZ_RUNS=20000 npx vitest run src/graph/fuzz.test.ts). */
const RUNS = Number(process.env.WEFT_FUZZ_RUNS) || 1500;
/**
 * A fixed seed keeps the suite deterministic (the coverage guard below counts which issue codes the
 * mutations reached, and a random draw once missed one); WEFT_FUZZ_SEED explores other draws.
 */
fc.configureGlobal({ seed: Number(process.env.WEFT_FUZZ_SEED) || 20261126 });
const registry = createRegistry();
const graphsDir = new URL('../../graphs/', import.meta.url);
const examples = readdirSync(graphsDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ name: f, text: readFileSync(new URL(f, graphsDir), 'utf8') }));

// ---------------------------------------------------------------------------------------------
// The property

/** Codes the fuzzer has provoked, and how many documents compiled to a plan despite mutation. */
const seen = new Set<IssueCode>();
let plans = 0;

function expectIssues(issues: unknown, where: string): void {
  expect(Array.isArray(issues), `${where}: issues must be an array`).toBe(true);
  const list = issues as GraphIssue[];
  expect(list.length, `${where}: a failure must carry at least one issue`).toBeGreaterThan(0);
  for (const issue of list) {
    expect(KNOWN_CODES[issue.code], `${where}: unknown code ${JSON.stringify(issue.code)}`).toBe(true);
    seen.add(issue.code);
    expect(typeof issue.message, `${where}: message of ${issue.code}`).toBe('string');
    expect(issue.message.length).toBeGreaterThan(0);
    for (const key of ['nodeId', 'port', 'edgeId'] as const) {
      if (issue[key] !== undefined) expect(typeof issue[key], `${where}: ${key} of ${issue.code}`).toBe('string');
    }
  }
}

/** parseGraph + compile answer with a plan or issues; loadGraph throws only GraphError. */
function checkLoadPath(input: unknown): void {
  const parsed = parseGraph(input);
  if (!parsed.doc) expectIssues(parsed.errors, 'parseGraph without a doc');
  else if (parsed.errors.length) expectIssues(parsed.errors, 'parseGraph with a doc');

  // The editor compiles every document zod accepted, reference errors and all.
  if (parsed.doc) {
    const compiled = compile(parsed.doc, registry);
    if (compiled.plan) expect(compiled.errors).toEqual([]), plans++;
    else expectIssues(compiled.errors, 'compile');
    if (parsed.errors.length) expect(compiled.plan, 'compile must not plan a document parseGraph refused').toBeUndefined();
  }

  let loaded = false;
  try {
    loadGraph(input);
    loaded = true;
  } catch (err) {
    expect(err, 'loadGraph throws only GraphError').toBeInstanceOf(GraphError);
    expectIssues((err as GraphError).errors, 'loadGraph');
  }
  expect(loaded).toBe(!!parsed.doc && parsed.errors.length === 0);
}

// ---------------------------------------------------------------------------------------------
// Valid graphs, generated

const KINDS = ['NoiseSource', 'Constant', 'Add', 'Scale', 'Lerp', 'ImageOutput', 'TensorOutput'];
/** Shapes that all broadcast together, rank 4 with 1 or 3 channels so ImageOutput accepts them. */
const SHAPES = [
  [1, 4, 4, 3],
  [1, 1, 1, 3],
  [2, 4, 4, 3],
  [2, 4, 4, 1],
  [1, 4, 1, 1],
];

interface Recipe {
  sources: { kind: 'NoiseSource' | 'Constant'; shape: number[]; seed: number; value: number; uniform: boolean }[];
  ops: { kind: 'Add' | 'Scale' | 'Lerp'; a: number; b: number; p: number }[];
  sinks: { kind: 'TensorOutput' | 'ImageOutput'; src: number; columns: number }[];
}

const recipe: fc.Arbitrary<Recipe> = fc.record({
  sources: fc.array(
    fc.record({
      kind: fc.constantFrom('NoiseSource' as const, 'Constant' as const),
      shape: fc.constantFrom(...SHAPES),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      value: fc.double({ min: -5, max: 5, noNaN: true }),
      uniform: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  ops: fc.array(
    fc.record({ kind: fc.constantFrom('Add' as const, 'Scale' as const, 'Lerp' as const), a: fc.nat(), b: fc.nat(), p: fc.double({ min: 0, max: 1, noNaN: true }) }),
    { maxLength: 12 },
  ),
  sinks: fc.array(fc.record({ kind: fc.constantFrom('TensorOutput' as const, 'ImageOutput' as const), src: fc.nat(), columns: fc.integer({ min: 0, max: 64 }) }), {
    maxLength: 3,
  }),
});

/** A document that compiles: a DAG (every input comes from an earlier node) of broadcasting shapes. */
function buildGraph(r: Recipe): Record<string, unknown> {
  const nodes: Record<string, unknown>[] = [];
  const edges: Record<string, unknown>[] = [];
  const at = (i: number) => ({ x: i * 200, y: 0 });
  const link = (from: string, to: string, port: string) => edges.push({ id: `e${edges.length}`, from: { node: from, port: 'out' }, to: { node: to, port } });
  r.sources.forEach((s, i) => {
    const params = s.kind === 'NoiseSource' ? { shape: s.shape, seed: s.seed, distribution: s.uniform ? 'uniform' : 'normal' } : { shape: s.shape, value: s.value };
    nodes.push({ id: `src${i}`, type: s.kind, params, position: at(nodes.length) });
  });
  r.ops.forEach((op, i) => {
    const id = `op${i}`;
    const earlier = nodes.map((n) => n.id as string);
    const a = earlier[op.a % earlier.length];
    const b = earlier[op.b % earlier.length];
    if (op.kind === 'Scale') {
      nodes.push({ id, type: 'Scale', params: { factor: op.p * 4 - 2 }, position: at(nodes.length) });
      link(a, id, 'x');
    } else {
      nodes.push({ id, type: op.kind, params: op.kind === 'Lerp' ? { t: op.p } : {}, position: at(nodes.length) });
      link(a, id, 'a');
      link(b, id, 'b');
    }
  });
  const producers = nodes.map((n) => n.id as string);
  r.sinks.forEach((s, i) => {
    const id = `out${i}`;
    nodes.push({ id, type: s.kind, params: s.kind === 'ImageOutput' ? { columns: s.columns } : {}, position: at(nodes.length) });
    link(producers[s.src % producers.length], id, s.kind === 'ImageOutput' ? 'image' : 'x');
  });
  return { format: 'weft.graph', version: 1, name: 'generated', nodes, edges, meta: {} };
}

// ---------------------------------------------------------------------------------------------
// Mutations

// Deep enough to hurt a recursive walk, shallow enough for JSON.stringify and structuredClone
// (the hostile-document test below goes far deeper, as text).
let deep: unknown = 0;
for (let i = 0; i < 1_000; i++) deep = [deep];
let deepObject: unknown = 1;
for (let i = 0; i < 200; i++) deepObject = { nested: deepObject, i };

/**
 * Values real files get wrong: huge and negative shapes, NaN-like strings, nesting, prototype
 * keys. Each draw is a fresh copy: mutations write into what they insert.
 */
const wildValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(
      'NaN', 'Infinity', '-Infinity', '1e999', '', 'normal', 'uniform', 'constructor', '__proto__',
      1e308, -1e308, -1, 0, -0, 0.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e-300, true, false, null,
      [], [0], [-1, 4], [1.5, 2], [2 ** 28 + 1], [65536, 65536], [1e9, 1e9, 1e9], [1, 1, 1, 1, 1, 1, 1, 1], ['4', '4'], [[1]], [null],
      {}, { x: 1 }, { shape: [1, 2] }, JSON.parse('{"__proto__": {"polluted": 1}}'), JSON.parse('{"constructor": {"prototype": 1}}'),
      deepObject,
    ),
  },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer(), fc.double(), fc.constant(1e9)), { maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constant(deep) },
).map((v) => structuredClone(v));

/** Ids and port names, including ones that collide with Object.prototype. */
const wildName = fc.oneof(
  fc.constantFrom('out', 'x', 'a', 'b', 'image', 'value', 'mean', 'src0', 'op0', 'noise', 'preview', ''),
  fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'length', 'then'),
  fc.string({ maxLength: 12 }),
  fc.constant('x'.repeat(300)),
);

const wildType = fc.oneof(fc.constantFrom(...KINDS), fc.constantFrom('add', 'Nope', 'NoiseSorce', '', 'constructor', '__proto__', 'toString'), fc.string({ maxLength: 10 }));

type Json = Record<string, any>;
type Mutation = (doc: any) => unknown;

const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const listOf = (doc: unknown, key: 'nodes' | 'edges'): Json[] | undefined =>
  isObj(doc) && Array.isArray(doc[key]) && doc[key].length > 0 ? (doc[key] as Json[]) : undefined;

/** Applies `fn` to item i (mod length) of doc.nodes/edges when that item is an object. */
const onItem = (key: 'nodes' | 'edges', i: number, fn: (item: Json, list: Json[], index: number) => void): Mutation => (doc) => {
  const list = listOf(doc, key);
  if (!list) return doc;
  const index = i % list.length;
  if (isObj(list[index])) fn(list[index], list, index);
  return doc;
};

const nodeIdAt = (doc: unknown, i: number): unknown => {
  const list = listOf(doc, 'nodes');
  return list ? list[i % list.length]?.id : 'missing';
};

/** A short printable form of a value, for counterexamples. */
function show(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = '<unprintable>';
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A mutation that prints as what it does when fast-check reports a counterexample. */
const named = (description: string, fn: Mutation): Mutation => Object.assign(fn, { [fc.toStringMethod]: () => description });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((i) => named(`dropNode(${i})`, onItem('nodes', i, (_, list, k) => void list.splice(k, 1)))),
  fc.nat().map((i) => named(`duplicateNode(${i})`, onItem('nodes', i, (n, list) => void list.push({ ...n })))),
  fc.tuple(fc.nat(), wildName).map(([i, id]) => named(`renameNode(${i}, ${show(id)})`, onItem('nodes', i, (n) => void (n.id = id)))),
  fc.nat().map((i) => named(`dropEdge(${i})`, onItem('edges', i, (_, list, k) => void list.splice(k, 1)))),
  fc.tuple(fc.nat(), fc.boolean()).map(([i, fresh]) =>
    named(`duplicateEdge(${i}, ${fresh ? 'new id' : 'same id'})`, onItem('edges', i, (e, list) => void list.push({ ...e, ...(fresh ? { id: `dup${list.length}` } : {}) }))),
  ),
  // an edge end pointing at a missing node, an existing node, or a wrong/odd port
  fc.tuple(fc.nat(), fc.constantFrom('from', 'to'), fc.option(wildName), fc.option(fc.nat()), wildName).map(([i, end, node, existing, port]) =>
    named(`retarget(edge ${i}, ${end}, node ${node !== null ? show(node) : `#${existing}`}, port ${show(port)})`, (doc: any) =>
      onItem('edges', i, (e) => {
        e[end] = { node: node ?? (existing !== null ? nodeIdAt(doc, existing) : 'nowhere'), port };
      })(doc),
    ),
  ),
  fc.nat().map((i) => named(`reverseEdge(${i})`, onItem('edges', i, (e) => void ([e.from, e.to] = [e.to, e.from])))),
  // a back edge (often a cycle) between two existing nodes
  fc.tuple(fc.nat(), fc.nat(), wildName, wildName).map(([i, j, fromPort, toPort]) =>
    named(`addEdge(node #${i}.${show(fromPort)} -> node #${j}.${show(toPort)})`, (doc: any) => {
      const edges = isObj(doc) && Array.isArray(doc.edges) ? (doc.edges as Json[]) : undefined;
      edges?.push({ id: `back${edges.length}`, from: { node: nodeIdAt(doc, i), port: fromPort }, to: { node: nodeIdAt(doc, j), port: toPort } });
      return doc;
    }),
  ),
  fc.tuple(fc.nat(), wildType).map(([i, type]) => named(`setType(${i}, ${show(type)})`, onItem('nodes', i, (n) => void (n.type = type)))),
  fc.tuple(fc.nat(), fc.constantFrom('shape', 'seed', 'distribution', 'volatile', 'value', 'factor', 't', 'columns', 'extra', '__proto__'), wildValue).map(
    ([i, key, value]) =>
      named(`setParam(${i}, ${key}, ${show(value)})`, onItem('nodes', i, (n) => void (isObj(n.params) ? (n.params[key] = value) : (n.params = { [key]: value })))),
  ),
  fc.tuple(fc.nat(), fc.constantFrom('id', 'type', 'v', 'position', 'params', 'extra'), wildValue, fc.boolean()).map(([i, key, value, remove]) =>
    named(remove ? `deleteNodeField(${i}, ${key})` : `setNodeField(${i}, ${key}, ${show(value)})`, onItem('nodes', i, (n) => void (remove ? delete n[key] : (n[key] = value)))),
  ),
  fc.tuple(fc.nat(), fc.constantFrom('id', 'from', 'to'), wildValue, fc.boolean()).map(([i, key, value, remove]) =>
    named(remove ? `deleteEdgeField(${i}, ${key})` : `setEdgeField(${i}, ${key}, ${show(value)})`, onItem('edges', i, (e) => void (remove ? delete e[key] : (e[key] = value)))),
  ),
  fc.tuple(fc.constantFrom('format', 'version', 'name', 'nodes', 'edges', 'meta', 'weft', 'title'), wildValue, fc.boolean()).map(([key, value, remove]) =>
    named(remove ? `deleteDocField(${key})` : `setDocField(${key}, ${show(value)})`, (doc: any) => {
      if (isObj(doc)) remove ? delete doc[key] : (doc[key] = value);
      return doc;
    }),
  ),
  fc.oneof(fc.constantFrom<unknown>(-1, 0, 2, 99, 1.5, 2 ** 53, '1', null), fc.integer()).map((version) =>
    named(`setVersion(${show(version)})`, (doc: any) => (isObj(doc) ? { ...doc, version } : doc)),
  ),
  // rewrite as a format 0 document (nodes keyed by id, inputs as "node.port"), which then migrates
  fc.boolean().map((junkInput) =>
    named(`toFormat0(${junkInput ? 'junk inputs' : 'faithful'})`, (doc: any) => {
      const nodes = listOf(doc, 'nodes');
      if (!nodes) return doc;
      const byId: Json = {};
      for (const n of nodes) if (isObj(n)) byId[String(n.id)] = { kind: n.type, params: n.params, inputs: {}, xy: [n.position?.x, n.position?.y] };
      for (const e of listOf(doc, 'edges') ?? []) {
        const target = isObj(e) && isObj(e.to) ? byId[String(e.to.node)] : undefined;
        if (target && isObj(target.inputs)) target.inputs[String(e.to.port)] = junkInput ? 'nodot' : `${e.from?.node}.${e.from?.port}`;
      }
      return { weft: 0, title: 'legacy', nodes: byId };
    }),
  ),
  { weight: 1, arbitrary: wildValue.map((value) => named(`replaceDocument(${show(value)})`, () => value)) },
);

const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });
const applyAll = (doc: unknown, ms: Mutation[]) => ms.reduce<unknown>((d, m) => m(d), structuredClone(doc));

/** A document as text, perhaps cut off or with one character replaced (a bad save, a bad paste). */
const textOf = (doc: unknown) =>
  fc.oneof(
    fc.constant(JSON.stringify(doc) ?? 'undefined'),
    fc.nat().map((n) => {
      const text = JSON.stringify(doc) ?? '';
      return text.slice(0, n % (text.length + 1));
    }),
    fc.tuple(fc.nat(), fc.constantFrom('{', '}', '"', ',', ']', '\\', '\u0000', 'ä', ' ')).map(([n, ch]) => {
      const text = JSON.stringify(doc) ?? '';
      const k = n % (text.length + 1);
      return text.slice(0, k) + ch + text.slice(k + 1);
    }),
  );

// ---------------------------------------------------------------------------------------------

describe('fuzzing the load path', () => {
  it('the generated graphs are valid and compile to a plan', () => {
    fc.assert(
      fc.property(recipe, (r) => {
        const { doc, errors } = parseGraph(buildGraph(r));
        expect(errors).toEqual([]);
        const compiled = compile(doc!, registry);
        expect(compiled.errors).toEqual([]);
        expect(compiled.plan?.nodes.length).toBe(r.sources.length + r.ops.length + r.sinks.length);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated example graphs give a plan or known issues, never an exception', () => {
    const bases = examples.map((e) => JSON.parse(e.text) as unknown);
    expect(bases.length).toBeGreaterThanOrEqual(2);
    fc.assert(
      fc.property(fc.nat({ max: bases.length - 1 }), mutations, (i, ms) => {
        const doc = applyAll(bases[i], ms);
        checkLoadPath(doc);
        checkLoadPath(JSON.stringify(doc) ?? 'null');
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated generated graphs give a plan or known issues, never an exception', () => {
    fc.assert(
      fc.property(recipe, mutations, (r, ms) => {
        const doc = applyAll(buildGraph(r), ms);
        checkLoadPath(doc);
        checkLoadPath(JSON.stringify(doc) ?? 'null');
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated and corrupted JSON text gives known issues, never an exception', () => {
    const arb = fc
      .tuple(fc.oneof(fc.constantFrom(...examples.map((e) => JSON.parse(e.text) as unknown)), recipe.map(buildGraph)), fc.array(mutation, { maxLength: 2 }))
      .chain(([doc, ms]) => textOf(applyAll(doc, ms)));
    fc.assert(fc.property(arb, (text) => checkLoadPath(text)), { numRuns: RUNS });
  });

  it('the mutations reach every kind of document error', () => {
    // Guards the fuzzer itself: mutations that stopped provoking these would test nothing.
    const expected: IssueCode[] = [
      'malformed-json', 'invalid-document', 'unknown-format', 'unsupported-version', 'migration-failed', 'duplicate-node-id',
      'duplicate-edge-id', 'unknown-node-type', 'unknown-port', 'dangling-edge', 'input-already-connected', 'missing-input',
      'cycle', 'bad-param', 'shape-mismatch',
    ];
    expect([...seen].sort(), `codes seen: ${[...seen].sort().join(', ')}`).toEqual(expect.arrayContaining(expected));
    expect(plans).toBeGreaterThan(100);
  });

  it('a hostile document (deep nesting, prototype keys) is refused with issues', () => {
    const text = examples.find((e) => e.name === 'noise-blend.json')!.text; // the replacements below are written against it
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const cases: string[] = [
      // JSON.parse takes any depth; JSON.stringify and recursive walks overflow the stack on these
      text.replace('"shape": [4, 32, 32, 3]', `"shape": ${nested(100_000)}`),
      text.replace('"factor": 1.2', `"factor": ${nested(100_000)}`),
      text.replace('"meta": {', `"meta": { "deep": ${nested(100_000)},`),
      text.replace('"t": 0.25', `"t": 0.25, "extra": ${nested(100_000)}`),
      text.replaceAll('"gain"', '"__proto__"'),
      text.replace('"port": "x" } }', '"port": "constructor" } }'),
      text.replace('"from": { "node": "gain", "port": "out" }, "to": { "node": "stats"', '"from": { "node": "gain", "port": "constructor" }, "to": { "node": "stats"'),
    ];
    for (const doc of cases) {
      expect(doc).not.toBe(text);
      checkLoadPath(doc);
    }
  });
});
