/**
 * `weft run --out` writes PNGs that carry their graph, and `weft validate` / `weft run` open such
 * a PNG as the graph: the image a run wrote reruns to the same image. A PNG without a graph is a
 * one-line file error (exit 2), not a stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGraph, serializeGraph, setParam } from '../graph/index.ts';
import { graphTextFromPng } from '../graph/png.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/weft.mjs');
const NOISE_BLEND = path.join(ROOT, 'graphs/noise-blend.json');

function weft(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
beforeAll(() => void (dir = mkdtempSync(path.join(tmpdir(), 'weft-png-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PNGs that carry their graph', () => {
  it('weft run --out embeds the graph, with --set applied, and the PNG reruns to the same pixels', async () => {
    const first = path.join(dir, 'a');
    const r = await weft(['run', NOISE_BLEND, '--out', first, '--set', 'gain.factor=1.5', '--backend', 'wasm']);
    expect(r.code, r.stderr).toBe(0);
    const png = readFileSync(path.join(first, 'preview.png'));
    const want = setParam(loadGraph(readFileSync(NOISE_BLEND, 'utf8')), 'gain', 'factor', 1.5);
    expect(serializeGraph(loadGraph(graphTextFromPng(png)))).toBe(serializeGraph(want));

    const v = await weft(['validate', path.join(first, 'preview.png')]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/^ok: Noise blend/);

    const second = path.join(dir, 'b');
    const again = await weft(['run', path.join(first, 'preview.png'), '--out', second, '--backend', 'wasm']);
    expect(again.code, again.stderr).toBe(0);
    const a = PNG.sync.read(png);
    const b = PNG.sync.read(readFileSync(path.join(second, 'preview.png')));
    expect(Buffer.compare(a.data, b.data)).toBe(0);
  });

  it('a PNG without a graph is a one-line file error', async () => {
    const plain = path.join(dir, 'plain.png');
    const img = new PNG({ width: 1, height: 1 });
    writeFileSync(plain, PNG.sync.write(img));
    const r = await weft(['validate', plain]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/carries no Weft graph/);
  });
});
