import { heartbeat } from './daemons.js';
import { acquireLease, claimExpiredLeases, reclaimOwnLeases, releaseLease, renewLeases, type Lease } from './leases.js';
import type { Sql } from './pg/db.js';

/** Why a lease stopped being ours: another daemon holds it now, we could not renew it in time, or we gave it up. */
export type LossReason = 'taken' | 'expired' | 'unreachable';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LeaseKeeperOptions {
  sql: Sql;
  daemonId: string;
  /** AUTON_LEASE_TTL_MS: how long a lease lasts without renewal. */
  ttlMs: number;
  clock: () => number;
  timers?: Timers;
  /** This daemon's load for the heartbeat (active agents). */
  load?: () => number;
  /**
   * Called at once, synchronously, when a lease is lost: stop the subtree's agents before anything else (their
   * writes would be refused by the fence anyway, but model calls would still be spent).
   */
  onLost(lease: Lease, reason: LossReason): void;
  /** A renewal that failed on the database (it is retried at the next tick). */
  onError?(error: unknown): void;
}

/** Renewals per TTL: at a third, two renewals can fail (a database blip) before a lease is at risk. */
export const RENEWALS_PER_TTL = 3;

/**
 * Holds this daemon's leases: claims, renews them all in one statement every TTL/3 (with the daemon's heartbeat),
 * releases them. It gives a lease up on its own — before the database would let another daemon take it — when a
 * renewal cannot reach the database and the next one would come too late; and at once when a tick finds a lease
 * already past its expiry (the process was paused). So two daemons never both believe they own a subtree, by
 * their clocks; the epoch fence covers the rest.
 */
export class LeaseKeeper {
  readonly renewEveryMs: number;
  private readonly held = new Map<string, Lease>();
  private readonly timers: Timers;
  private timer: unknown;
  private running = false;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly o: LeaseKeeperOptions) {
    this.renewEveryMs = Math.max(1, Math.floor(o.ttlMs / RENEWALS_PER_TTL));
    this.timers = o.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  }

  /** The leases held now. */
  leases(): Lease[] {
    return [...this.held.values()];
  }

  holds(root: string): Lease | undefined {
    return this.held.get(root);
  }

  /** Takes `root` if it is free or expired; null when another daemon holds it. */
  async claim(root: string): Promise<Lease | null> {
    const lease = await acquireLease(this.o.sql, root, this.o.daemonId, this.o.clock(), this.o.ttlMs);
    if (lease) this.held.set(root, lease);
    return lease;
  }

  /**
   * After a restart under the same daemon id: takes back at once, at their next epochs, the leases its previous
   * process held (they would otherwise sit out their TTL). Safe even if another process wrongly runs with this id:
   * the epoch moves on, and that one's writes are fenced out.
   */
  async reclaimOwn(): Promise<Lease[]> {
    const leases = await reclaimOwnLeases(this.o.sql, this.o.daemonId, this.o.clock(), this.o.ttlMs);
    for (const lease of leases) this.held.set(lease.root, lease);
    return leases;
  }

  /** A commit found `root` fenced out at `epoch`: it is lost now, not at the next renewal. */
  dropLost(root: string, epoch: number): void {
    const lease = this.held.get(root);
    if (lease && lease.epoch === epoch) this.lose(lease, 'taken');
  }

  /** The lease's row was deleted with its purged root: stop renewing it (nothing to stop: the subtree is gone). */
  forget(root: string, epoch: number): void {
    if (this.held.get(root)?.epoch === epoch) this.held.delete(root);
  }

  /** Failover: adopts up to `limit` roots whose owners stopped renewing (or released them); renewed from now on. */
  async claimExpired(limit: number): Promise<Lease[]> {
    const leases = await claimExpiredLeases(this.o.sql, this.o.daemonId, this.o.clock(), this.o.ttlMs, limit);
    for (const lease of leases) this.held.set(lease.root, lease);
    return leases;
  }

  /**
   * Hands `root` over at once (it is free for any daemon as soon as this resolves). Queued behind a renewal under
   * way: run beside it, the renewal's UPDATE could land after the release's and hold the root for another TTL.
   */
  async release(root: string): Promise<void> {
    const lease = this.held.get(root);
    if (!lease) return;
    this.held.delete(root);
    await this.serialised(() => releaseLease(this.o.sql, lease));
  }

  /** SIGTERM: stop renewing and hand every lease over at once. */
  async drain(): Promise<void> {
    this.stop();
    await Promise.all(this.leases().map((l) => this.release(l.root)));
  }

  /** Starts the renewal loop; the first renewal is one interval from now. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when the renewal or release under way (if any) has finished: for tests driving fake timers. */
  settled(): Promise<void> {
    return this.inFlight;
  }

  /** One renewal of every lease and the heartbeat; the loop calls it, tests may too. */
  renewNow(): Promise<void> {
    return this.serialised(() => this.renew());
  }

  /** Runs `work` after whatever this keeper is already doing on the database: renewals and releases never overlap. */
  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const result = this.inFlight.then(work);
    this.inFlight = result.then(() => undefined, () => undefined);
    return result;
  }

  private schedule(): void {
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.renewNow().finally(() => {
        if (this.running) this.schedule();
      });
    }, this.renewEveryMs);
  }

  private lose(lease: Lease, reason: LossReason): void {
    if (this.held.get(lease.root)?.epoch !== lease.epoch) return;
    this.held.delete(lease.root);
    this.o.onLost(lease, reason);
  }

  private async renew(): Promise<void> {
    const startedMs = this.o.clock();
    // Past its expiry before we even asked: another daemon may already own it and run its agents.
    for (const lease of this.leases()) if (startedMs >= lease.untilMs) this.lose(lease, 'expired');
    const asked = this.leases();
    try {
      // The new expiry counts from before the request, so ours is never later than the one the database stored.
      const kept = await renewLeases(this.o.sql, this.o.daemonId, asked, startedMs, this.o.ttlMs);
      await heartbeat(this.o.sql, this.o.daemonId, startedMs, this.o.load?.() ?? 0);
      const keptByRoot = new Map(kept.map((l) => [l.root, l]));
      for (const lease of asked) {
        const renewed = keptByRoot.get(lease.root);
        if (!renewed) this.lose(lease, 'taken');
        else if (this.held.get(lease.root)?.epoch === lease.epoch) this.held.set(lease.root, renewed);
      }
    } catch (error) {
      this.o.onError?.(error);
      // Unknown whether it was renewed: give up what would expire before the next attempt could save it.
      const nowMs = this.o.clock();
      for (const lease of this.leases()) if (nowMs + this.renewEveryMs >= lease.untilMs) this.lose(lease, 'unreachable');
    }
  }
}
