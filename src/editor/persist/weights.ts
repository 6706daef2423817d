/**
 * CONTRACT STUB (owned by the persistence work): trained weights in IndexedDB, referenced from a
 * graph as `idb:<key>` in a builder's `weights` param (browserPlatform.readFile resolves them).
 */
export async function putWeights(_key: string, _bytes: Uint8Array): Promise<string> {
  throw new Error('not implemented yet');
}

export async function getWeights(_key: string): Promise<Uint8Array> {
  throw new Error('not implemented yet');
}
