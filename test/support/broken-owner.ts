import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerDaemon } from '../../src/cluster/daemons.js';
import { createDb } from '../../src/cluster/pg/db.js';

/**
 * Runs `body` while a peer, registered in the cluster's database as the live daemon `broken`, holds the lease on
 * root `zed` and answers every request with `handle` (a daemon that breaks mid-request: hangs up, goes silent).
 * The peer and its rows are gone afterwards.
 */
export async function withBrokenOwner(dbUrl: string, handle: (req: IncomingMessage, res: ServerResponse) => void, body: () => Promise<void>): Promise<void> {
  const peer = createServer(handle);
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
  const db = createDb(dbUrl);
  try {
    await registerDaemon(db, { id: 'broken', address: `http://127.0.0.1:${(peer.address() as AddressInfo).port}` }, Date.now() + 60_000);
    await db.query("INSERT INTO subtree_leases VALUES ('zed', 'broken', 1, now() + interval '1 hour')");
    await body();
  } finally {
    await db.query("DELETE FROM subtree_leases WHERE root_path = 'zed'; DELETE FROM daemons WHERE id = 'broken'");
    await db.close();
    peer.closeAllConnections();
    peer.close();
  }
}
