/** A readable id from a goal: its first few words, lower-case, e.g. `monitor-arxiv-daily`. */
export function idFromGoal(goal: string): string {
  const words = goal
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9\s-]/g, ' ')
    .split(/[\s-]+/)
    .filter((w) => w.length > 1 && !STOP_WORDS.has(w))
    .slice(0, 3);
  const slug = words.join('-').slice(0, 40).replace(/-+$/, '');
  return slug.length > 0 ? slug : 'agent';
}

const STOP_WORDS = new Set(['the', 'an', 'and', 'or', 'of', 'for', 'to', 'in', 'on', 'by', 'with', 'from', 'about']);
