import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeMessagesApi, type FakeMessagesApi, type RecordedRequest } from '../../test/support/fake-messages-api.js';
import type { TestPostgres } from '../../test/support/postgres-server.js';
import { expectJson, http, percentile } from '../load.js';
import { startDaemonProcess, type DaemonProcess } from '../processes.js';
import { fmt, type Row } from '../table.js';

/** The lease TTL of the failover trials (the smallest allowed, to keep the run short); one more trial at the default. */
const TTL_MS = 3_000;
const DEFAULT_TTL_MS = 15_000;
const TRIALS = 10;
/** How long a routed request waits for a takeover beyond one TTL (src/http/cluster-routing.ts): the goal's margin. */
const GRACE_MS = 2_000;
/** Each model call of an agent takes this long at the fake, so one is in flight when its owner is killed. */
const CALL_MS = 300;
/** Clients posting messages through the surviving daemon, each as fast as answers come, with this pause between. */
const SENDERS = 2;
const SEND_GAP_MS = 25;
/** Messages flow this long before the kill, and this long after the taken-over agent's first model call. */
const BEFORE_KILL_MS = 1_000;
const AFTER_CALL_MS = 1_000;
/** Bounds of the waits: for a call in flight, for the first call after the kill, for every message to be in the conversation. */
const IN_FLIGHT_WAIT_MS = 5_000;
const FIRST_CALL_WAIT_MS = 30_000;
const SETTLE_MS = 20_000;
const SPEC = { goal: 'Keep a running list of the notes you are sent', model: 'claude-haiku-4-5' };

/** A daemon of a cluster on one PostgreSQL database: the compiled daemon as `npm start` runs it. */
export function startMember(db: string, fakeUrl: string, id: string, ttlMs: number, env: Record<string, string> = {}): Promise<DaemonProcess> {
  return startDaemonProcess({ db, fakeUrl, env: { AUTON_DAEMON_ID: id, AUTON_LEASE_TTL_MS: String(ttlMs), AUTON_RESTART_BACKOFF_MS: '0', ...env } });
}

export interface ClusterLease { root: string; owner: string; epoch: number; state: string; expires_in_ms: number | null }
export const leasesOf = async (url: string) => (await expectJson<{ leases: ClusterLease[] }>(`${url}/cluster`, 200)).leases;

interface Trial {
  /** From kill -9 to the first model call of the agent the victim owned (null: none within FIRST_CALL_WAIT_MS). */
  failoverMs: number | null;
  /** What was left of the victim's lease on the agent's root at the kill, as the survivor saw it. */
  leaseLeftMs: number;
  acked: number;
  lost: number;
  duplicated: number;
  /** Answers other than 2xx, by status (0: the connection failed); and how many of those messages were stored anyway. */
  refused: Map<number, number>;
  storedAnyway: number;
}

/**
 * Figures pg4, pg4b, pg4c: a survivor daemon and, per trial, a fresh victim daemon on one database. The victim owns a
 * new agent (placement: the least loaded daemon); clients post messages to it through the survivor (forwarded to the
 * victim) while the agent works through them, one CALL_MS model call per turn. kill -9 of the victim while a call is in
 * flight; the survivor takes the subtree over once the lease expires and the agent calls the model again. Every
 * message answered 2xx must be in the agent's conversation afterwards.
 */
export async function failoverFigures(server: TestPostgres, log: (text: string) => void): Promise<Row[]> {
  const fake = await startFakeMessagesApi();
  const calls = new Map<string, number[]>();
  const inFlight = new Map<string, number>();
  fake.setHandler(async (req) => {
    fake.requests.length = 0; // the fake records every request; nothing here reads them
    const path = caller(req);
    calls.set(path, [...calls.get(path) ?? [], performance.now()]);
    inFlight.set(path, (inFlight.get(path) ?? 0) + 1);
    await sleep(CALL_MS);
    inFlight.set(path, inFlight.get(path)! - 1);
    return { kind: 'text', text: 'noted' };
  });
  const tools: Tools = { fake, calls, inFlight, log };
  try {
    const short = await trials(tools, await server.createDatabase('cluster_failover'), TTL_MS, TRIALS);
    const long = await trials(tools, await server.createDatabase('cluster_failover_default'), DEFAULT_TTL_MS, 1);
    return rows(short, long);
  } finally {
    await fake.close();
  }
}

interface Tools { fake: FakeMessagesApi; calls: Map<string, number[]>; inFlight: Map<string, number>; log: (text: string) => void }

async function trials(tools: Tools, db: string, ttlMs: number, count: number): Promise<Trial[]> {
  const survivor = await startMember(db, tools.fake.url, `survivor-${ttlMs}`, ttlMs);
  const out: Trial[] = [];
  try {
    // A root on the survivor, so that the least loaded daemon is always the fresh victim.
    await expectJson(`${survivor.url}/agents`, 201, { method: 'POST', body: { id: `anchor-${ttlMs}`, spec: SPEC } });
    for (let t = 1; t <= count; t++) {
      const victim = await startMember(db, tools.fake.url, `victim-${ttlMs}-${t}`, ttlMs);
      try {
        const trial = await oneTrial(tools, survivor, victim, `victim-${ttlMs}-${t}`, `task-${ttlMs}-${t}`);
        tools.log(`  pg4 TTL ${ttlMs} ms, trial ${t}: kill → first call ${trial.failoverMs?.toFixed(0) ?? 'never'} ms (lease left ${trial.leaseLeftMs} ms); `
          + `${trial.acked} acknowledged, ${trial.lost} lost, ${trial.duplicated} duplicated; refused ${JSON.stringify([...trial.refused])}`);
        out.push(trial);
      } finally {
        await victim.stop();
      }
    }
  } finally {
    await survivor.stop();
  }
  return out;
}

async function oneTrial(tools: Tools, survivor: DaemonProcess, victim: DaemonProcess, victimId: string, agent: string): Promise<Trial> {
  await expectJson(`${victim.url}/agents`, 201, { method: 'POST', body: { id: agent, spec: SPEC } });
  const owner = (await leasesOf(survivor.url)).find((l) => l.root === agent)?.owner;
  if (owner !== victimId) throw new Error(`pg4: ${agent} was placed on ${owner}, not on the victim`);

  const sent: Array<{ i: number; status: number }> = [];
  let next = 0;
  let stop = false;
  const sender = async () => {
    while (!stop) {
      const i = next++;
      const status = await http(`${survivor.url}/agents/${agent}/message`, { method: 'POST', body: { content: token(agent, i) } })
        .then((a) => a.status, () => 0);
      sent.push({ i, status });
      await sleep(SEND_GAP_MS);
    }
  };
  const senders = Array.from({ length: SENDERS }, sender);
  try {
    const started = performance.now();
    await sleep(BEFORE_KILL_MS);
    while ((tools.inFlight.get(agent) ?? 0) === 0 && performance.now() - started < BEFORE_KILL_MS + IN_FLIGHT_WAIT_MS) await sleep(5);
    if ((tools.inFlight.get(agent) ?? 0) === 0) throw new Error(`pg4: ${agent} had no model call in flight within ${IN_FLIGHT_WAIT_MS} ms`);
    const leaseLeftMs = (await leasesOf(survivor.url)).find((l) => l.root === agent)?.expires_in_ms ?? NaN;

    const killedAt = performance.now();
    process.kill(victim.pid, 'SIGKILL');
    await victim.stop(); // resolves on its exit: every call after this comes from the daemon that took the agent over
    const goneAt = performance.now();
    let firstCall: number | undefined;
    while (firstCall === undefined && performance.now() - killedAt < FIRST_CALL_WAIT_MS) {
      firstCall = tools.calls.get(agent)?.find((at) => at > goneAt);
      if (firstCall === undefined) await sleep(5);
    }
    if (firstCall !== undefined) await sleep(AFTER_CALL_MS);
    stop = true;
    await Promise.all(senders);

    const acked = sent.filter((s) => s.status >= 200 && s.status < 300).map((s) => s.i);
    const counts = await settle(survivor.url, agent, acked);
    const refused = new Map<number, number>();
    let storedAnyway = 0;
    for (const s of sent.filter((x) => x.status < 200 || x.status >= 300)) {
      refused.set(s.status, (refused.get(s.status) ?? 0) + 1);
      if ((counts.get(s.i) ?? 0) > 0) storedAnyway++;
    }
    return {
      failoverMs: firstCall === undefined ? null : firstCall - killedAt, leaseLeftMs, acked: acked.length,
      lost: acked.filter((i) => (counts.get(i) ?? 0) === 0).length, duplicated: acked.filter((i) => (counts.get(i) ?? 0) > 1).length,
      refused, storedAnyway,
    };
  } finally {
    stop = true;
    await Promise.all(senders);
  }
}

/** Message i of a trial as sent; `;` ends it, so that no token is a prefix of another. */
const token = (agent: string, i: number) => `note ${agent}#${i};`;

/**
 * How often each message appears in the agent's stored conversation (read through the survivor, page by page), once
 * every acknowledged one is there or SETTLE_MS has passed (the agent takes its inbox into its next turn).
 */
async function settle(url: string, agent: string, acked: readonly number[]): Promise<Map<number, number>> {
  const started = performance.now();
  for (;;) {
    const text = await conversationText(url, agent);
    const counts = new Map<number, number>();
    for (const match of text.matchAll(new RegExp(`note ${agent}#(\\d+);`, 'g'))) counts.set(Number(match[1]), (counts.get(Number(match[1])) ?? 0) + 1);
    if (acked.every((i) => counts.has(i)) || performance.now() - started > SETTLE_MS) return counts;
    await sleep(250);
  }
}

async function conversationText(url: string, agent: string): Promise<string> {
  const parts: string[] = [];
  let after: number | null = -1;
  while (after !== null) {
    const page: { turns: Array<{ content: unknown }>; next: number | null } =
      await expectJson(`${url}/agents/${agent}/conversation?limit=200&after=${after}`, 200);
    parts.push(...page.turns.map((t) => JSON.stringify(t.content)));
    after = page.next;
  }
  return parts.join('\n');
}

function caller(req: RecordedRequest): string {
  return /running at path "([^"]+)"/.exec(String(req.body.system))?.[1] ?? '?';
}

function rows(short: Trial[], long: Trial[]): Row[] {
  const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;
  const times = short.map((t) => t.failoverMs ?? Infinity);
  const left = short.map((t) => t.leaseLeftMs);
  const p50 = percentile(times, 50);
  const max = Math.max(...times);
  const all = [...short, ...long];
  const sum = (f: (t: Trial) => number) => all.reduce((s, t) => s + f(t), 0);
  const refused = new Map<number, number>();
  for (const t of all) for (const [status, n] of t.refused) refused.set(status, (refused.get(status) ?? 0) + n);
  const refusedText = refused.size === 0 ? 'none refused' : `refused: ${[...refused].map(([s, n]) => `${n}× ${s === 0 ? 'no answer' : s}`).join(', ')} (${sum((t) => t.storedAnyway)} of them stored anyway)`;
  const lost = sum((t) => t.lost);
  const out: Row[] = [
    {
      figure: `failover after kill -9 of the owner: kill → first model call of its agent on the survivor (AUTON_LEASE_TTL_MS=${TTL_MS}; ${short.length} trials, a call in flight, messages arriving)`,
      auton: `p50 ${ms(p50)}, max ${max === Infinity ? 'never' : ms(max)}`,
      ceiling: `lease left at the kill: p50 ${ms(percentile(left, 50))}, max ${ms(Math.max(...left))}`,
      ratio: fmt.ratio(p50 / percentile(left, 50)),
      goal: `max < TTL + 2 s = ${ms(TTL_MS + GRACE_MS)}`,
      met: max < TTL_MS + GRACE_MS,
    },
    {
      figure: `acknowledged messages lost across those ${all.length} failovers (posted through the survivor before and across each kill)`,
      auton: `${lost} of ${sum((t) => t.acked).toLocaleString('en-US')} lost`,
      ceiling: `${sum((t) => t.duplicated)} stored twice; ${refusedText}`,
      ratio: '',
      goal: '0 lost',
      met: lost === 0,
    },
  ];
  for (const t of long) {
    out.push({
      figure: `the same failover at the default AUTON_LEASE_TTL_MS=${DEFAULT_TTL_MS} (one trial)`,
      auton: t.failoverMs === null ? 'never' : ms(t.failoverMs),
      ceiling: `lease left at the kill: ${ms(t.leaseLeftMs)}`,
      ratio: t.failoverMs === null ? '' : fmt.ratio(t.failoverMs / t.leaseLeftMs),
      goal: `< TTL + 2 s = ${ms(DEFAULT_TTL_MS + GRACE_MS)}`,
      met: t.failoverMs !== null && t.failoverMs < DEFAULT_TTL_MS + GRACE_MS,
    });
  }
  return out;
}
