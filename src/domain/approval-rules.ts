import type { AgentRecord } from './agent.js';
import { badRequest } from './errors.js';
import type { ApprovalRule } from './schemas.js';

/**
 * Tool approval rules (README "Approvals"), pure. Within one agent's list the most specific matching rule decides
 * (an exact name beats any pattern; a pattern with more literal characters beats one with fewer; a tie goes to the
 * stricter). Down the tree, every level is asked and the strictest answer wins, so a child can tighten what its
 * ancestors decided but never loosen it.
 */

/** allow < ask (times out into allow) < ask (times out into deny) < deny. */
export function strictness(rule: ApprovalRule | undefined): number {
  if (rule === undefined || rule.decision === 'allow') return 0;
  if (rule.decision === 'deny') return 3;
  return rule.on_timeout === 'allow' ? 1 : 2;
}

/** `*` matches any run of characters (`__` included); everything else is literal. */
export function matches(pattern: string, name: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return pattern === name;
  const parts = pattern.split('*');
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false;
  let at = first.length;
  const end = name.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = name.indexOf(parts[i]!, at);
    if (found === -1 || found + parts[i]!.length > end) return false;
    at = found + parts[i]!.length;
  }
  return true;
}

function specificity(pattern: string): number {
  return pattern.includes('*') ? pattern.length - countStars(pattern) : Number.MAX_SAFE_INTEGER;
}

function countStars(pattern: string): number {
  let n = 0;
  for (const c of pattern) if (c === '*') n++;
  return n;
}

/** The rule of one list that decides for `tool`, or undefined when none matches. */
export function ruleFor(rules: readonly ApprovalRule[], tool: string): ApprovalRule | undefined {
  let best: ApprovalRule | undefined;
  let bestSpecificity = -1;
  for (const rule of rules) {
    if (!matches(rule.tool, tool)) continue;
    const s = specificity(rule.tool);
    if (s > bestSpecificity || (s === bestSpecificity && strictness(rule) > strictness(best))) {
      best = rule;
      bestSpecificity = s;
    }
  }
  return best;
}

/** What the tree decides for a call: the strictest rule of the agent and its ancestors, and whose it is. */
export interface Verdict {
  rule: ApprovalRule;
  /** The agent whose policy holds the rule. */
  from: string;
}

/** The verdict for `tool` at `agent` (null: no rule applies, the call runs); `parentOf` walks up the tree. */
export function verdictFor(agent: AgentRecord, tool: string, parentOf: (a: AgentRecord) => AgentRecord | undefined): Verdict | null {
  let verdict: Verdict | null = null;
  for (let level: AgentRecord | undefined = agent; level !== undefined; level = parentOf(level)) {
    if (level.policy.approvals.length === 0) continue;
    const rule = ruleFor(level.policy.approvals, tool);
    if (rule !== undefined && strictness(rule) > strictness(verdict?.rule)) verdict = { rule, from: level.path };
  }
  return verdict;
}

/** Whether a person already allowed `tool` for good here (remember=agent) or above (remember=subtree). */
export function granted(agent: AgentRecord, tool: string, parentOf: (a: AgentRecord) => AgentRecord | undefined): boolean {
  for (let level: AgentRecord | undefined = agent; level !== undefined; level = parentOf(level)) {
    for (const grant of level.approvalGrants ?? []) {
      if (grant.tool === tool && (grant.subtree || level === agent)) return true;
    }
  }
  return false;
}

/**
 * Refuses (400, naming the rule) a child's rules that decide more loosely than what it inherits, for any tool
 * name they cover. Checked on the names that tell: each rule's own pattern with its stars dropped, and each
 * inherited pattern so written that the child's rule covers it.
 */
export function checkNoLooserRules(
  rules: readonly ApprovalRule[], parent: AgentRecord | undefined, parentOf: (a: AgentRecord) => AgentRecord | undefined,
  field = 'policy.approvals',
): void {
  if (parent === undefined || rules.length === 0) return;
  const inherited: string[] = [];
  for (let level: AgentRecord | undefined = parent; level !== undefined; level = parentOf(level)) {
    for (const rule of level.policy.approvals) inherited.push(rule.tool.replaceAll('*', ''));
  }
  if (inherited.length === 0) return;
  rules.forEach((rule, index) => {
    const names = [rule.tool.replaceAll('*', ''), ...inherited.filter((name) => matches(rule.tool, name))];
    for (const name of names) {
      if (ruleFor(rules, name) !== rule) continue; // another of the child's rules decides for this name
      const above = verdictFor(parent, name, parentOf);
      if (above !== null && strictness(rule) < strictness(above.rule)) {
        throw badRequest(`${field}[${index}]: ${describe(rule)} for ${name || rule.tool} is looser than ${describe(above.rule)} inherited from ${above.from}; a child may only tighten its rules`);
      }
    }
  });
}

function describe(rule: ApprovalRule): string {
  return rule.decision === 'ask' ? `ask (on_timeout ${rule.on_timeout})` : rule.decision;
}
