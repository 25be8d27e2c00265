export interface RestartOptions {
  cause?: string;
  /** Back-off before the agent runs again (supervision); it waits in `spawning`. */
  delayMs?: number;
  schedule?: (fn: () => void, ms: number) => void;
}

/** Who asked for a change, for the agent's log. */
export interface Actor {
  by?: string;
  reason?: string;
}

/** The actor's fields as event data (`by`, `reason`), only those set. */
export function actorData(actor: Actor): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  if (actor.by) data.by = actor.by;
  if (actor.reason) data.reason = actor.reason;
  return data;
}

