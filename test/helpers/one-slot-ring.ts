import { RingView } from '../../ring/index.js';

/** A one-slot ring whose only node, `n`, answers at `url` (owner-client tests' stand-in nodes). */
export function ringTo(url: string): RingView {
  return new RingView({
    epoch: 1,
    virtualNodesPerWeight: 10,
    slots: [{ slot: 'slot-0', nodeId: 'n', weight: 1 }],
    standbys: [],
    nodes: { n: { nodeId: 'n', url } },
  });
}
