// A small program written against the client types openapi-typescript generates from /docs/json (auton.d.ts,
// written here by test/openapi/typed-client.test.ts). It type-checks only if the document describes every
// operation, body and answer precisely: the @ts-expect-error lines fail if a type is too loose (any, unknown).
import type { components, operations, paths } from './auton.js';

type AgentNode = components['schemas']['AgentNode'];
type ErrorBody = components['schemas']['Error'];
type SpawnBody = NonNullable<operations['spawnRootAgent']['requestBody']>['content']['application/json'];
type Spawned = operations['spawnRootAgent']['responses'][201]['content']['application/json'];
type Tree = paths['/agents']['get']['responses'][200]['content']['application/json'];
type SuspendBody = NonNullable<operations['suspendAgent']['requestBody']>['content']['application/json'];
type Observed = operations['observeAgent']['responses'][200]['content']['text/event-stream'];
type Refused = operations['suspendAgent']['responses'][409]['content']['application/json'];
type TooLarge = operations['spawnChildAgent']['responses'][413]['content']['application/json'];

export const body: SpawnBody = { id: 'typed-client', spec: { goal: 'Check that the generated types fit' } };
// @ts-expect-error spec.goal is required
export const noGoal: SpawnBody = { spec: {} };
// @ts-expect-error the reason is one of the suspend reasons
export const badReason: SuspendBody = { reason: 'bored' };
export const suspend: SuspendBody = { reason: 'budget_exceeded', detail: 'over budget' };

export async function spawn(base: string): Promise<Spawned | ErrorBody> {
  const res = await fetch(`${base}/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Spawned | ErrorBody;
}

export function describe(node: AgentNode): string {
  const reason: 'budget_exceeded' | 'drift_detected' | 'loop_detected' | 'depth_exceeded' | 'manual' | 'execution_error' | undefined = node.suspend_reason;
  return `${node.path} ${node.state} ${node.health.tokens_total} ${reason ?? ''} ${node.children.length}`;
}

export function roots(tree: Tree): number {
  return tree.agents.length + tree.total;
}

export const stream: Observed = 'event: heartbeat\n';
export const refusal = (e: Refused | TooLarge): number => e.statusCode;
