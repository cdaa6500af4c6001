/**
 * The store tells the Cassandra driver the cluster's CQL port when every contact point names the
 * same one: the driver dials the nodes it discovers on that port, not on the contact point's.
 */
import t from 'tap';
import { sharedPort } from '../../store-adapter/cassandra/client.js';

t.test('one port named by every contact point is the cluster’s', async (t) => {
  t.equal(sharedPort(['10.0.0.1:19042', '10.0.0.2:19042', '10.0.0.3:19042']), 19042);
  t.equal(sharedPort(['127.0.0.2:9042']), 9042);
  t.equal(sharedPort(['[::1]:9142', '[::2]:9142']), 9142, 'IPv6 in brackets');
});

t.test('mixed or absent ports leave the driver’s default', async (t) => {
  t.equal(sharedPort(['10.0.0.1:19042', '10.0.0.2:19043']), undefined, 'two ports');
  t.equal(sharedPort(['10.0.0.1', '10.0.0.2']), undefined, 'no port');
  t.equal(sharedPort(['10.0.0.1:19042', '10.0.0.2']), undefined, 'one without');
  t.equal(sharedPort([]), undefined, 'none');
});
