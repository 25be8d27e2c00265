import type { Logger } from 'pino';
import { conflict, storeUnavailable } from '../domain/errors.js';
import { bumpLoad, listDaemons, placeRoot, registerDaemon, removeDaemon, setDraining, type DaemonInfo } from './daemons.js';
import { EVENT_ID_BLOCK, takeEventIdBlock } from './event-ids.js';
import { LeaseKeeper, type LossReason } from './lease-keeper.js';
import { leaseHolder, leaseUnleasedRoots, listLeases, orphanShare, type Lease, type LeaseRow } from './leases.js';
import type { ClusterMetrics } from './metrics.js';
import type { Db } from './pg/db.js';
import type { Fencing } from '../store/pg/fencing.js';
import type { AgentTree } from '../domain/tree.js';
import { readRemotePendingApprovals, readRemoteTree } from './remote-tree.js';
import type { Approval } from '../domain/approval.js';

/** What the daemon does with the subtrees this node leases (src/cluster/subtree-host.ts). */
export interface SubtreeHost {
  /** Loads the subtrees under `roots` and starts their agents; events from now on are numbered from `eventIdBlock`. */
  adopt(roots: readonly string[], eventIdBlock: number): Promise<void>;
  /** Stops the subtree's agents at once and forgets it (its lease is gone). */
  drop(root: string): void;
  /** Agents this daemon drives, reported with each heartbeat for placement. */
  load(): number;
}

/** Where a request for a subtree is served. */
export type Route =
  | { kind: 'local' }
  | { kind: 'forward'; owner: string; address: string; placed: boolean }
  | { kind: 'unavailable'; message: string; retryAfterS: number };

export interface ClusterNodeOptions {
  db: Db;
  daemonId: string;
  ttlMs: number;
  clock: () => number;
  logger: Logger | false;
  metrics: ClusterMetrics;
}

const LOCAL: Route = { kind: 'local' };
/**
 * How long an owner found in the database is used without asking again. A subtree that moves meanwhile costs one
 * extra hop: its old owner answers "not mine" (NOT_OWNER) and the request is routed again.
 */
export const OWNER_REMEMBERED_MS = 1_000;
const OWNERS_REMEMBERED = 10_000;
/** Most orphaned roots one scan takes, so daemons scanning together share them out. */
export const ROOTS_PER_SCAN = 64;

/**
 * This daemon as a member of a cluster on one PostgreSQL database (docs/scale-out.md): it leases root subtrees
 * (src/cluster/lease-keeper.ts), fences the store's writes with them (it is the store's `Fencing`), scans for
 * subtrees whose owner stopped renewing and takes them over, routes each request to the daemon owning its subtree,
 * places new roots, and drains on shutdown.
 */
export class ClusterNode implements Fencing {
  readonly owner: string;
  readonly ttlMs: number;
  /** How often orphaned subtrees are looked for: failover happens within TTL + this. */
  readonly scanEveryMs: number;
  private readonly keeper: LeaseKeeper;
  private readonly adopting = new Map<string, Promise<void>>();
  private host: SubtreeHost | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private draining = false;
  /** Owners of other daemons' subtrees, remembered briefly: a forwarded request costs no database lookup. */
  private readonly owners = new Map<string, { route: Route; untilMs: number }>();
  address: string | null = null;
  /** Registered, renewing and scanning: peers can place roots here (readiness waits for it). */
  joined = false;

  constructor(private readonly o: ClusterNodeOptions) {
    this.owner = o.daemonId;
    this.ttlMs = o.ttlMs;
    this.scanEveryMs = Math.min(1_000, Math.max(100, Math.floor(o.ttlMs / 15)));
    this.keeper = new LeaseKeeper({
      sql: o.db, daemonId: o.daemonId, ttlMs: o.ttlMs, clock: o.clock, load: () => this.host?.load() ?? 0,
      onLost: (lease, reason) => this.onLost(lease, reason),
      onError: (error) => this.log('warn', { err: error }, 'lease renewal failed; retrying'),
    });
  }

  get metrics(): ClusterMetrics {
    return this.o.metrics;
  }

  epochOf(root: string): number | undefined {
    return this.keeper.holds(root)?.epoch;
  }

  holds(root: string): boolean {
    return this.keeper.holds(root) !== undefined;
  }

  lost(root: string, epoch: number): void {
    this.keeper.dropLost(root, epoch);
  }

  released(root: string, epoch: number): void {
    this.keeper.forget(root, epoch);
  }

  leases(): Lease[] {
    return this.keeper.leases();
  }

  /**
   * Before listening: the subtrees this daemon starts with, those it held before a restart under the same id.
   * Orphaned ones are left to the scans, which share them among the live daemons.
   */
  async start(host: SubtreeHost, bus: { useIdBlocks(start: number, size: number, refill: () => Promise<number>): void }): Promise<void> {
    this.host = host;
    bus.useIdBlocks(await takeEventIdBlock(this.o.db), EVENT_ID_BLOCK, () => takeEventIdBlock(this.o.db));
    await leaseUnleasedRoots(this.o.db);
    const leases = await this.keeper.reclaimOwn();
    if (leases.length > 0) await this.adopt(leases);
  }

  /** Once listening at `address`: peers may place roots here and forward requests; renewals and scans begin. */
  async join(address: string): Promise<void> {
    this.address = address;
    await registerDaemon(this.o.db, { id: this.owner, address, load: this.host?.load() ?? 0 }, this.o.clock());
    this.keeper.start();
    await this.scan(); // orphans waiting for a daemon (a database from before leases, a dead daemon's) are taken now
    this.scheduleScan();
    this.joined = true;
  }

  /** Where a request about the subtree `root` is served; `spawning`: it would create that root. */
  async route(root: string, spawning: boolean): Promise<Route> {
    if (this.holds(root)) return this.whenAdopted(root);
    const now = this.o.clock();
    const known = this.owners.get(root);
    if (known && known.untilMs > now) return known.route;
    const route = await this.lookUp(root, spawning, now);
    if (route.kind === 'forward' && !route.placed) {
      if (this.owners.size >= OWNERS_REMEMBERED) this.owners.clear();
      this.owners.set(root, { route, untilMs: now + OWNER_REMEMBERED_MS });
    }
    return route;
  }

  /** A forward to the remembered owner failed, or it said the subtree is not its own: ask the database next time. */
  forgetRoute(root: string): void {
    this.owners.delete(root);
  }

  private async lookUp(root: string, spawning: boolean, now: number): Promise<Route> {
    const holder = await leaseHolder(this.o.db, root);
    if (!holder) {
      if (!spawning) return LOCAL; // no daemon has it: there is no such agent (a 404 here)
      const placed = await placeRoot(this.o.db, now, this.ttlMs);
      if (placed === null || placed.id === this.owner) return this.take(root);
      return { kind: 'forward', owner: placed.id, address: placed.address, placed: true };
    }
    if (holder.untilMs > now) {
      if (holder.owner !== this.owner && holder.address) return { kind: 'forward', owner: holder.owner, address: holder.address, placed: false };
      return unavailable(`${root} is leased by daemon ${holder.owner}, which cannot be reached now`, holder.untilMs - now);
    }
    return this.take(root); // released, or its owner stopped renewing: taken over here, now
  }

  /** A request a peer forwarded here: served here if this daemon owns the subtree (or was chosen to spawn it). */
  async routeForwarded(root: string, placed: boolean): Promise<Route> {
    if (this.holds(root)) return this.whenAdopted(root);
    if (placed) return this.take(root);
    return unavailable(`${root} moved to another daemon while the request was on its way`, 1_000);
  }

  /** Makes sure this daemon holds the new root `id` (a fork of a root), or throws a domain error saying why not. */
  async claimRoot(id: string): Promise<void> {
    if (this.holds(id)) return;
    const holder = await leaseHolder(this.o.db, id);
    if (holder && holder.untilMs > this.o.clock() && holder.owner !== this.owner) throw conflict(`an agent ${id} already exists (on daemon ${holder.owner})`);
    const route = await this.take(id);
    if (route.kind !== 'local') throw storeUnavailable(route.kind === 'unavailable' ? route.message : `${id} is not leased here`);
  }

  /** The subtrees other daemons own, as stored (for `GET /agents`). */
  remoteTree(): Promise<AgentTree> {
    return readRemoteTree(this.o.db, this.keeper.leases().map((l) => l.root));
  }

  /** The pending approvals of the subtrees other daemons own, as stored (for `GET /approvals`). */
  remotePendingApprovals(): Promise<Approval[]> {
    return readRemotePendingApprovals(this.o.db, this.keeper.leases().map((l) => l.root));
  }

  /** For `GET /cluster`. */
  async describe(): Promise<{ daemons: DaemonInfo[]; leases: LeaseRow[] }> {
    const [daemons, leases] = await Promise.all([listDaemons(this.o.db), listLeases(this.o.db)]);
    return { daemons, leases };
  }

  /** SIGTERM, after the agents were halted and the store flushed: hands every lease over at once. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.scanTimer) clearTimeout(this.scanTimer);
    await setDraining(this.o.db, this.owner).catch(() => undefined);
    const held = this.keeper.leases().length;
    await this.keeper.drain();
    await removeDaemon(this.o.db, this.owner).catch(() => undefined);
    this.o.metrics.released.inc(held);
  }

  /** Stops renewing without releasing (tests of a daemon that stalls). */
  stop(): void {
    this.draining = true;
    this.keeper.stop();
    if (this.scanTimer) clearTimeout(this.scanTimer);
  }

  private async whenAdopted(root: string): Promise<Route> {
    await this.adopting.get(root)?.catch(() => undefined);
    return this.holds(root) ? LOCAL : unavailable(`${root} could not be loaded here; try again`, 1_000);
  }

  private async take(root: string): Promise<Route> {
    if (this.draining) return unavailable('this daemon is shutting down', 1_000);
    const lease = await this.keeper.claim(root);
    if (!lease) return unavailable(`${root} was just taken by another daemon; try again`, 200);
    const adopted = this.adopt([lease]).catch(() => undefined); // first: `holds` is true from the claim on, requests wait for the load
    await bumpLoad(this.o.db, this.owner).catch(() => undefined);
    await adopted;
    return this.whenAdopted(root);
  }

  /** Loads the subtrees and starts them; on failure lets their leases go, for this or another daemon to retry. */
  private adopt(leases: readonly Lease[]): Promise<void> {
    const roots = leases.map((l) => l.root);
    const done = (async () => {
      const block = await takeEventIdBlock(this.o.db);
      await this.host!.adopt(roots, block);
    })();
    for (const root of roots) this.adopting.set(root, done);
    return done.then(() => {
      this.o.metrics.adopted.inc(roots.length);
      this.log('info', { roots }, 'took over subtrees');
    }, async (error: unknown) => {
      this.log('error', { err: error, roots }, 'could not load subtrees; letting their leases go');
      for (const root of roots) this.host!.drop(root);
      await Promise.all(roots.map((root) => this.keeper.release(root))).catch(() => undefined);
      throw error;
    }).finally(() => {
      for (const root of roots) if (this.adopting.get(root) === done) this.adopting.delete(root);
    });
  }

  private onLost(lease: Lease, reason: LossReason): void {
    this.o.metrics.lost.inc({ reason });
    this.log('warn', { root: lease.root, epoch: lease.epoch, reason }, 'lost the lease on a subtree; its agents stopped here');
    this.host?.drop(lease.root);
  }

  private scheduleScan(): void {
    this.scanTimer = setTimeout(() => void this.scan().finally(() => {
      if (!this.draining) this.scheduleScan();
    }), this.scanEveryMs);
    this.scanTimer.unref();
  }

  /** Takes over subtrees whose owner stopped renewing (or released them). */
  private async scan(): Promise<void> {
    try {
      const share = await orphanShare(this.o.db, this.o.clock(), this.ttlMs);
      if (share === 0) return;
      const leases = await this.keeper.claimExpired(Math.min(share, ROOTS_PER_SCAN));
      if (leases.length > 0) await this.adopt(leases);
    } catch (error) {
      this.log('warn', { err: error }, 'looking for orphaned subtrees failed; retrying');
    }
  }

  private log(level: 'info' | 'warn' | 'error', data: object, message: string): void {
    if (this.o.logger) this.o.logger[level](data, message);
  }
}

function unavailable(message: string, waitMs: number): Route {
  return { kind: 'unavailable', message, retryAfterS: Math.max(1, Math.ceil(waitMs / 1_000)) };
}
