// Minimal typings for hashring@3 (the package ships none): only what chatring calls.
declare module 'hashring' {
  type ServerSpec =
    Record<string, number | { weight?: number; vnodes?: number }> | string[] | string;
  interface HashRingOptions {
    'vnode count'?: number;
    replicas?: number;
    'max cache size'?: number;
    compatibility?: 'ketama' | 'hash_ring';
  }
  class HashRing {
    constructor(servers?: ServerSpec, algorithm?: string, options?: HashRingOptions);
    get(key: string): string;
    add(servers: ServerSpec): this;
    remove(server: string): this;
    has(server: string): boolean;
    reset(): this;
    end(): this;
  }
  export = HashRing;
}
