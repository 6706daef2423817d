/** The registry of node kinds. It fails loudly: registering a type twice throws with its name. */
import type { AnyNodeKind } from './define.ts';

export class Registry {
  private readonly kinds = new Map<string, AnyNodeKind>();

  constructor(kinds: AnyNodeKind[] = []) {
    this.register(...kinds);
  }

  register(...kinds: AnyNodeKind[]): this {
    for (const kind of kinds) {
      if (this.kinds.has(kind.type)) throw new Error(`node type "${kind.type}" is registered twice`);
      this.kinds.set(kind.type, kind);
    }
    return this;
  }

  get(type: string): AnyNodeKind | undefined {
    return this.kinds.get(type);
  }

  has(type: string): boolean {
    return this.kinds.has(type);
  }

  list(): AnyNodeKind[] {
    return [...this.kinds.values()];
  }

  types(): string[] {
    return [...this.kinds.keys()];
  }
}
