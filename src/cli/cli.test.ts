/**
 * The `weft` command, run as a user runs it: `node bin/weft.mjs ...` in a child process, with
 * files in a temporary directory. Exit codes, stdout and the files written are the contract.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/weft.mjs');
const NOISE_BLEND = path.join(ROOT, 'graphs/noise-blend.json');
const TINTED = path.join(ROOT, 'graphs/tinted-noise.json');

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

function weft(args: string[], opts: { env?: NodeJS.ProcessEnv; onStdout?: (text: string, kill: (sig: NodeJS.Signals) => void) => void } = {}): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(stdout, (sig) => child.kill(sig));
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

let dir: string;
const tmp = (name: string) => path.join(dir, name);
const graph = (nodes: unknown[], edges: unknown[]) => JSON.stringify({ format: 'weft.graph', version: 1, name: 'test', nodes, edges, meta: {} });
const edge = (id: string, from: string, to: string, port = 'x') => ({ id, from: { node: from, port: 'out' }, to: { node: to, port } });

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'weft-cli-'));
  writeFileSync(
    tmp('unknown-type.json'),
    graph(
      [
        { id: 'src', type: 'NoiseSorce', params: {} },
        { id: 'show', type: 'ImageOutput', params: { columns: -1 } },
      ],
      [edge('e1', 'src', 'show', 'image')],
    ),
  );
  writeFileSync(
    tmp('cycle.json'),
    graph(
      [
        { id: 'a', type: 'Scale', params: {} },
        { id: 'b', type: 'Scale', params: {} },
      ],
      [edge('e1', 'a', 'b'), edge('e2', 'b', 'a')],
    ),
  );
  writeFileSync(tmp('malformed.json'), '{ "format": "weft.graph", ');
  // 40 chained nodes on cpu: long enough to cancel half way.
  const chain = Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, type: 'Scale', params: { factor: 1.01 } }));
  writeFileSync(
    tmp('long.json'),
    graph(
      [{ id: 'n', type: 'NoiseSource', params: { shape: [8, 256, 256, 3], seed: 1 } }, ...chain, { id: 'stats', type: 'TensorOutput', params: {} }],
      [...chain.map((c, i) => edge(`e${i}`, i ? `s${i - 1}` : 'n', c.id)), edge('last', 's39', 'stats')],
    ),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('weft validate', () => {
  it('accepts both example graphs', async () => {
    const [a, b] = await Promise.all([weft(['validate', NOISE_BLEND]), weft(['validate', TINTED])]);
    expect(a).toMatchObject({ code: 0, stdout: 'ok: Noise blend (6 nodes, 5 edges)\n' });
    expect(b).toMatchObject({ code: 0, stdout: 'ok: Tinted noise (5 nodes, 4 edges)\n' });
  });

  it('reports every error of a broken graph, one line each, and exits 1', async () => {
    const r = await weft(['validate', tmp('unknown-type.json')]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toContain('[unknown-node-type] node "src": unknown node type "NoiseSorce"; did you mean "NoiseSource"');
    expect(lines.some((l) => l.startsWith('[bad-param] node "show", port "columns":'))).toBe(true);
    expect(lines.at(-1)).toBe(`${tmp('unknown-type.json')}: ${lines.length - 1} errors`);
    noStackTrace(r.stdout + r.stderr);
  });

  it('a cycle is reported with the nodes on it', async () => {
    const r = await weft(['validate', tmp('cycle.json')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[cycle] node "a": these nodes form a cycle: a -> b -> a');
  });

  it('malformed JSON is one error line, not a crash', async () => {
    const r = await weft(['validate', tmp('malformed.json')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\[malformed-json\] the graph is not valid JSON/);
    noStackTrace(r.stdout + r.stderr);
  });

  it('--json prints the errors as data', async () => {
    const r = await weft(['validate', tmp('cycle.json'), '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.errors).toEqual([expect.objectContaining({ code: 'cycle', nodeId: 'a', detail: { nodes: ['a', 'b'] } })]);
  });

  it('a missing file exits 2 with a clear message and no stack trace', async () => {
    const r = await weft(['validate', tmp('nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot read ${tmp('nope.json')}: no such file`);
    noStackTrace(r.stderr);
  });
});

describe('weft usage', () => {
  it('--help lists the commands; <cmd> --help shows its options; unknown commands exit 2', async () => {
    const [help, runHelp, unknown, none] = await Promise.all([weft(['--help']), weft(['run', '--help']), weft(['frobnicate']), weft([])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/validate.*\n.*run/);
    expect(runHelp.code).toBe(0);
    expect(runHelp.stdout).toContain('--set NODE.PARAM=VAL');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain('Usage: weft <command>');
    expect(none.code).toBe(2);
  });
});

describe('weft run', () => {
  let wasm: { json: any; png: Buffer };

  beforeAll(async () => {
    const r = await weft(['run', NOISE_BLEND, '--out', tmp('wasm'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    wasm = { json: JSON.parse(r.stdout), png: readFileSync(tmp('wasm/preview.png')) };
  });

  it('--json prints one object on stdout: backend, reason, nodes, outputs', () => {
    expect(wasm.json).toMatchObject({ ok: true, backend: 'wasm', reason: expect.any(String) });
    expect(Object.keys(wasm.json.nodes)).toEqual(['noiseA', 'noiseB', 'blend', 'gain', 'preview', 'stats']);
    expect(wasm.json.nodes.blend).toMatchObject({ status: 'ran', bytes: 4 * 32 * 32 * 3 * 4 });
    expect(wasm.json.files).toEqual([tmp('wasm/preview.png'), tmp('wasm/stats.json')]);
  });

  it('writes the image batch as one PNG grid: 4 images of 32x32 in 2 columns is 64x64', () => {
    const img = PNG.sync.read(wasm.png);
    expect([img.width, img.height]).toEqual([64, 64]);
    const firstPixel = img.data.readUInt32BE(0);
    let differing = 0;
    for (let i = 0; i < img.data.length; i += 4) if (img.data.readUInt32BE(i) !== firstPixel) differing++;
    expect(differing).toBeGreaterThan(64 * 64 * 0.9);
  });

  it('writes numbers as JSON: tensor statistics and the TensorOutput scalars', () => {
    const stats = JSON.parse(readFileSync(tmp('wasm/stats.json'), 'utf8'));
    expect(stats.value).toMatchObject({ shape: [4, 32, 32, 3], dtype: 'float32' });
    expect(stats.value.data).toBeUndefined(); // 12,288 elements: too many to inline
    expect(stats.value.stats.mean).toBeCloseTo(stats.mean, 4);
    expect(stats.mean).toBeCloseTo(0.6038, 3);
    expect(typeof stats.std).toBe('number');
  });

  it('--set noiseA.seed=5 changes the picture, and reports each node as it runs', async () => {
    const r = await weft(['run', NOISE_BLEND, '--out', tmp('seed5'), '--set', 'noiseA.seed=5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm \(/);
    expect(r.stdout).toMatch(/^ {2}ran +noiseA +\d+\.\d ms$/m);
    expect(r.stdout).toContain(`-> ${tmp('seed5/preview.png')}`);
    const png = readFileSync(tmp('seed5/preview.png'));
    expect(png.equals(wasm.png)).toBe(false);
  });

  it('--set on an unknown node or param names the valid choices', async () => {
    const [node, param] = await Promise.all([
      weft(['run', NOISE_BLEND, '--set', 'nope.seed=1']),
      weft(['run', NOISE_BLEND, '--set', 'noiseA.sed=1']),
    ]);
    expect(node.code).toBe(2);
    expect(node.stderr).toContain('no node "nope"; nodes are "noiseA", "noiseB", "blend", "gain", "preview", "stats"');
    expect(param.stderr).toContain('NoiseSource has no param "sed"; its params are "shape", "seed", "distribution", "volatile"');
    noStackTrace(node.stderr + param.stderr);
  });

  it('a broken graph exits 1 with one line per error', async () => {
    const r = await weft(['run', tmp('cycle.json'), '--out', tmp('never')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[cycle] node "a":');
    expect(r.stdout).toBe('');
  });

  it('cpu and wasm give the same statistics', async () => {
    const r = await weft(['run', NOISE_BLEND, '--backend', 'cpu', '--json']);
    const cpu = JSON.parse(r.stdout);
    expect(cpu.backend).toBe('cpu');
    expect(cpu.outputs.stats.values.mean).toBeCloseTo(wasm.json.outputs.stats.values.mean, 4);
    expect(cpu.outputs.stats.values.std).toBeCloseTo(wasm.json.outputs.stats.values.std, 4);
  });

  it('webgpu runs with or without the Dawn environment and matches wasm', async () => {
    const bare = { ...process.env };
    delete bare.LD_LIBRARY_PATH;
    delete bare.VK_ICD_FILENAMES;
    const runs = await Promise.all([
      weft(['run', NOISE_BLEND, '--backend', 'webgpu', '--json']),
      weft(['run', NOISE_BLEND, '--backend=webgpu', '--json', '--out', tmp('gpu')], { env: bare }),
    ]);
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      const gpu = JSON.parse(r.stdout);
      expect(gpu.backend).toBe('webgpu');
      expect(gpu.reason).toMatch(/adapter/);
      expect(gpu.outputs.stats.values.mean).toBeCloseTo(wasm.json.outputs.stats.values.mean, 4);
      expect(gpu.outputs.preview.values.image.stats.mean).toBeCloseTo(wasm.json.outputs.preview.values.image.stats.mean, 4);
    }
    expect(PNG.sync.read(readFileSync(tmp('gpu/preview.png'))).width).toBe(64);
  });

  it('Ctrl-C cancels a run between nodes and exits 130', async () => {
    let sent = false;
    const r = await weft(['run', tmp('long.json'), '--backend', 'cpu'], {
      onStdout: (text, kill) => {
        if (!sent && (text.match(/^ {2}ran /gm) ?? []).length >= 3) {
          sent = true;
          kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('cancelled');
    expect(r.stdout).not.toMatch(/ran +s39/);
  });
});
