import { z } from 'zod';
import { AGENT_STATES } from './states.js';
import { ACTION_WORDS, LIMITS } from './limits.js';

/**
 * One set of zod schemas drives request validation, the TypeScript types and the OpenAPI document.
 * Request bodies are strict: an unknown field is a 400 naming it, so a typo never silently does nothing.
 */
export const agentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$/, 'ids are 1-64 of [A-Za-z0-9_.-], not starting with "."')
  .refine((id) => !(ACTION_WORDS as readonly string[]).includes(id), {
    message: `an id cannot be an action word (${ACTION_WORDS.join(', ')})`,
  })
  .meta({ description: 'Agent id, unique among its siblings', example: 'hello-agent' });

export const SUSPEND_REASONS = [
  'budget_exceeded', 'drift_detected', 'loop_detected', 'depth_exceeded', 'manual', 'execution_error',
] as const;
export const suspendReasonSchema = z.enum(SUSPEND_REASONS);
export type SuspendReason = z.infer<typeof suspendReasonSchema>;

export const stateSchema = z.enum(AGENT_STATES);

const positiveInt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const PROMPT_CACHE_MODES = ['off', '5m', '1h'] as const;

export const specSchema = z.strictObject({
  goal: z.string().trim().min(1).max(LIMITS.goalMaxChars).meta({ description: 'What the agent works towards' }),
  model: z.string().min(1).max(LIMITS.modelNameMaxChars).default('claude-sonnet-4-6'),
  tools: z.array(z.string().min(1).max(64)).max(LIMITS.toolsMaxCount).default([]),
  schedule: z.string().max(200).nullable().default(null)
    .meta({ description: 'Cron expression (5 or 6 fields); the agent is woken on each tick when idle' }),
  max_tokens: z.number().int().min(1).max(LIMITS.replyMaxTokens).default(LIMITS.replyDefaultTokens)
    .meta({ description: "The most tokens of one reply (the Messages API's max_tokens), thinking included" }),
  instructions: z.string().max(LIMITS.instructionsMaxChars).nullable().default(null)
    .meta({ description: 'Extra text appended to the system prompt' }),
  thinking: z.strictObject({
    budget_tokens: z.number().int().min(LIMITS.thinkingMinBudgetTokens).max(LIMITS.replyMaxTokens)
      .meta({ description: 'Tokens the model may think for before answering; less than max_tokens' }),
  }).nullable().default(null).meta({ description: 'Extended thinking; null (the default) turns it off' }),
  prompt_cache: z.enum(PROMPT_CACHE_MODES).default('5m')
    .meta({ description: "Prompt caching: cache lifetime '5m' (default) or '1h' (agents that call less often than every 5 minutes: schedules, waiting on messages), or 'off'" }),
}).refine((spec) => spec.thinking === null || spec.thinking.budget_tokens < spec.max_tokens, {
  message: 'thinking.budget_tokens must be less than max_tokens', path: ['thinking', 'budget_tokens'],
});
export type AgentSpec = z.infer<typeof specSchema>;

export const budgetSchema = z.strictObject({
  max_tokens_per_hour: positiveInt.nullable().default(null),
  max_total_tokens: positiveInt.nullable().default(null),
  max_runtime_seconds: positiveInt.nullable().default(null),
  max_cost_usd: z.number().positive().max(LIMITS.maxCostUsd).nullable().default(null)
    .meta({ description: "Suspend budget_exceeded once the agent's model calls (the judge's included) cost this many USD" }),
  subtree_max_cost_usd: z.number().positive().max(LIMITS.maxCostUsd).nullable().default(null)
    .meta({ description: 'USD the agent and all its descendants (dead and purged ones included) may spend together; a call that would cross it suspends its caller budget_exceeded' }),
  subtree_max_total_tokens: positiveInt.nullable().default(null)
    .meta({ description: 'Tokens (as tokens_total counts them) the agent and all its descendants may use together' }),
});

export const APPROVAL_DECISIONS = ['allow', 'ask', 'deny'] as const;
/** Tool names are [A-Za-z0-9_-] (MCP tools `mcp__<server>__<tool>`); a pattern may add `*`, any run of characters. */
const TOOL_PATTERN = /^[A-Za-z0-9_*-]+$/;

export const approvalRuleSchema = z.strictObject({
  tool: z.string().min(1).max(LIMITS.approvalPatternMaxChars)
    .regex(TOOL_PATTERN, 'a tool name or pattern: letters, digits, _ and -, with * for any run of characters (e.g. mcp__github__*)')
    .meta({ description: 'The tool it applies to: a name, or a pattern with * (`*`, `mcp__github__*`)' }),
  decision: z.enum(APPROVAL_DECISIONS)
    .meta({ description: 'allow: run it; ask: hold the call until a person decides; deny: refuse it (the model reads an error)' }),
  timeout_seconds: z.number().int().min(1).max(LIMITS.approvalMaxTimeoutSeconds).default(LIMITS.approvalDefaultTimeoutSeconds)
    .meta({ description: 'ask: how long the call waits for a decision' }),
  on_timeout: z.enum(['allow', 'deny']).default('deny').meta({ description: 'ask: what an unanswered approval becomes' }),
}).meta({ id: 'ApprovalRule' });
export type ApprovalRule = z.infer<typeof approvalRuleSchema>;

export const policySchema = z.strictObject({
  restart: z.enum(['never', 'on_failure', 'always']).default('on_failure'),
  supervision: z.enum(['one_for_one', 'one_for_all', 'escalate']).default('one_for_one'),
  max_restarts: z.number().int().min(0).max(1000).default(3),
  restart_window_seconds: positiveInt.nullable().default(null)
    .meta({ description: "Count only the restarts of the last this-many seconds against max_restarts (OTP's period); null counts all" }),
  budget: budgetSchema.default({
    max_tokens_per_hour: null, max_total_tokens: null, max_runtime_seconds: null, max_cost_usd: null,
    subtree_max_cost_usd: null, subtree_max_total_tokens: null,
  }),
  drift_threshold: z.number().min(0).max(1).default(0.4),
  max_children: z.number().int().min(0).max(10_000).default(10),
  max_depth: z.number().int().min(0).max(64).default(3),
  repeatable_tools: z.array(z.string().min(1).max(64)).max(LIMITS.toolsMaxCount).default([])
    .meta({ description: 'Tools that may legitimately repeat with the same input (polling); loop detection ignores them' }),
  approvals: z.array(approvalRuleSchema).max(LIMITS.approvalRulesMax).default([])
    .meta({ description: "Tool approvals: checked with every ancestor's rules, the strictest answer wins (README \"Approvals\")" }),
});
export type AgentPolicy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;

export const healthSchema = z.object({
  coherence: z.number(),
  drift: z.number(),
  token_rate: z.number().meta({ description: 'Tokens used in the last hour' }),
  tokens_total: z.number().meta({ description: 'Input + cache-write + output tokens of every model call, the judge included (cache reads are not counted here)' }),
  input_tokens: z.number().optional().meta({ description: 'Uncached input tokens' }),
  output_tokens: z.number().optional(),
  cache_write_5m_tokens: z.number().optional(),
  cache_write_1h_tokens: z.number().optional(),
  cache_read_tokens: z.number().optional(),
  cost_usd: z.number().nullable().optional().meta({ description: 'USD spent on model calls; null when a model used has no price' }),
  context_tokens: z.number().optional().meta({ description: 'Tokens of the last prompt sent (what the context window holds)' }),
  loops_detected: z.number(),
  last_check: z.string().nullable(),
  subtree_tokens_total: z.number().optional()
    .meta({ description: 'tokens_total of the agent and all its descendants, dead and purged ones included' }),
  subtree_cost_usd: z.number().optional()
    .meta({ description: 'cost_usd of the agent and all its descendants, dead and purged ones included (calls of a model without a price add nothing)' }),
});
export type AgentHealth = z.infer<typeof healthSchema>;

const nodeFields = {
  id: z.string(),
  path: z.string(),
  state: stateSchema,
  spec: specSchema,
  policy: policySchema,
  health: healthSchema,
  created_at: z.string(),
  started_at: z.string().nullable(),
  uptime: z.number().meta({ description: 'Seconds since the agent last started' }),
  restart_count: z.number(),
  checkpoints: z.number(),
  suspend_reason: suspendReasonSchema.optional(),
  error_message: z.string().optional(),
  forked_from: z.object({ path: z.string(), checkpoint: z.string() }).optional(),
  waiting_for: z.object({ approval: z.string(), tool: z.string() }).optional()
    .meta({ description: 'Set while a tool call waits for a person (GET /approvals); the agent stays running' }),
  children_count: z.number().optional().meta({ description: 'Set when children were cut by ?depth=' }),
};
export interface AgentNodeJson extends z.infer<z.ZodObject<typeof nodeFields>> { children: AgentNodeJson[] }
export const agentNodeSchema: z.ZodType<AgentNodeJson> = z
  .object({ ...nodeFields, children: z.array(z.lazy(() => agentNodeSchema)) })
  .meta({ id: 'AgentNode' });

export const spawnBodySchema = z.strictObject({
  id: agentIdSchema.optional(),
  spec: specSchema,
  policy: policySchema.optional(),
});
export type SpawnBody = z.infer<typeof spawnBodySchema>;

const reasonText = z.string().max(LIMITS.reasonMaxChars);

/** A field's schema without its default, so a patch that leaves a field out leaves it as it is. */
function noDefault<T extends z.ZodType>(field: T): z.ZodType {
  return field instanceof z.ZodDefault ? (field.removeDefault() as z.ZodType) : field;
}
const optionalFields = (shape: Record<string, z.ZodType>) =>
  Object.fromEntries(Object.entries(shape).map(([key, field]) => [key, noDefault(field).optional()]));

/** PATCH `{policy}`: any fields of a policy (budget fields one by one), merged over the agent's current one. */
export const policyPatchSchema = z.strictObject({
  ...optionalFields(policySchema.shape),
  budget: z.strictObject(optionalFields(budgetSchema.shape)).optional(),
}).meta({ id: 'PolicyPatch' });
export type PolicyPatch = Partial<Omit<AgentPolicy, 'budget'>> & { budget?: Partial<AgentPolicy['budget']> };

export const guidanceBodySchema = z.strictObject({
  guidance: z.string().trim().min(1).max(LIMITS.guidanceMaxChars),
  reason: reasonText.optional(),
});
/** PATCH an agent: guidance (the seed's "correct"), a policy change, or both. */
export const patchBodySchema = z.strictObject({
  guidance: z.string().trim().min(1).max(LIMITS.guidanceMaxChars).optional(),
  policy: policyPatchSchema.optional(),
  reason: reasonText.optional(),
}).refine((b) => b.guidance !== undefined || b.policy !== undefined, { message: 'send guidance, policy or both', path: ['guidance'] });
export const approvalDecisionBodySchema = z.strictObject({
  decision: z.enum(['allow', 'deny']),
  note: z.string().max(LIMITS.approvalNoteMaxChars).optional(),
  remember: z.enum(['agent', 'subtree']).optional()
    .meta({ description: 'With allow: allow this tool without asking for the rest of the agent\'s life, or for its whole subtree' }),
}).refine((b) => b.remember === undefined || b.decision === 'allow', { message: 'remember goes with allow only', path: ['remember'] });
export const suspendBodySchema = z.strictObject({
  reason: suspendReasonSchema.default('manual'),
  detail: reasonText.optional(),
});
export const resumeBodySchema = z.strictObject({
  guidance: z.string().trim().min(1).max(LIMITS.guidanceMaxChars).optional()
    .meta({ description: 'Guidance delivered at the first model call after resuming (steer while suspended)' }),
});
export const messageBodySchema = z.strictObject({
  content: z.string().min(1).max(LIMITS.messageMaxChars),
  channel: z.string().max(64).optional(),
  kind: z.string().max(64).optional(),
  metadata: z.record(z.string().max(64), z.unknown())
    .refine((m) => Object.keys(m).length <= LIMITS.metadataMaxKeys, `at most ${LIMITS.metadataMaxKeys} metadata keys`)
    .optional(),
});
export type MessageBody = z.infer<typeof messageBodySchema>;
export const forkBodySchema = z.strictObject({
  id: agentIdSchema.optional(),
  checkpoint: z.string().max(128).optional(),
});
export const restartBodySchema = z.strictObject({ reason: reasonText.optional() });
export const checkpointBodySchema = z.strictObject({ label: z.string().max(200).optional() });
