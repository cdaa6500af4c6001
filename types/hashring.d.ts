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
    /** The ring's points, sorted by value; `server` is the name the point belongs to. */
    ring: { value: number; server: string }[];
    /** The key's position on the ring (ketama: the first 4 bytes of its MD5, little-endian). */
    hashValue(key: string): number;
    /** The index in `ring` of the first point at or after `hashValue` (wrapping to 0). */
    find(hashValue: number): number;
    add(servers: ServerSpec): this;
    remove(server: string): this;
    has(server: string): boolean;
    reset(): this;
    end(): this;
  }
  export = HashRing;
}
