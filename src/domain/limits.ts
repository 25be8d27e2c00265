/** Every hard limit of the protocol, in one place (documented in the README's "Limits" table). */
export const LIMITS = {
  idMaxLength: 64,
  pathMaxLength: 1024,
  goalMaxChars: 20_000,
  guidanceMaxChars: 20_000,
  messageMaxChars: 100_000,
  reasonMaxChars: 1_000,
  modelNameMaxChars: 128,
  toolsMaxCount: 32,
  metadataMaxKeys: 32,
  /** spec.max_tokens: the default and the most a reply may ask for. */
  replyDefaultTokens: 4096,
  replyMaxTokens: 128_000,
  /** spec.thinking.budget_tokens: the Messages API's minimum. */
  thinkingMinBudgetTokens: 1024,
  instructionsMaxChars: 20_000,
  /** policy.budget.max_cost_usd at most. */
  maxCostUsd: 1_000_000,
  bodyMaxBytes: 1024 * 1024,
  /** Nesting of a JSON request body (objects and arrays); the deepest valid body has 4. */
  jsonMaxDepth: 32,
  /** Pending messages + guidance an agent may hold before new ones are refused (429). */
  inboxMaxItems: 1_000,
  /** Entries `/log` replays before streaming (read from the store). */
  logBacklogEntries: 500,
  /** Events kept in memory for `Last-Event-ID` replay across all streams. */
  replayBufferEvents: 50_000,
  /** …and at most about this many bytes of them (their strings' lengths): older events are replayed from the store. */
  replayBufferBytes: 64 * 1024 * 1024,
  /** Events an SSE client may have queued while its socket is not draining; past it the stream is closed. */
  sseClientQueueEvents: 5_000,
  /** policy.approvals: rules per agent, the longest tool pattern, and how long a held call may wait for a person. */
  approvalRulesMax: 64,
  approvalPatternMaxChars: 128,
  approvalDefaultTimeoutSeconds: 3_600,
  approvalMaxTimeoutSeconds: 7 * 24 * 3_600,
  approvalNoteMaxChars: 1_000,
  /** Refused spawn_child calls (max_depth) in one wake before the agent is suspended depth_exceeded. */
  depthRefusalsPerWake: 3,
} as const;

/** Path segments that name an action, so they can never be agent ids. */
export const ACTION_WORDS = [
  'observe', 'log', 'checkpoint', 'checkpoints', 'fork', 'restart', 'suspend', 'resume', 'message', 'conversation',
  'approvals',
] as const;
