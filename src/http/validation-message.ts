/**
 * Turns one validation issue of zod 4 (as fastify-type-provider-zod hands it over: `keyword` is the issue code,
 * `instancePath` the field, `params` the rest of the issue) into a sentence a person can act on:
 * `spec.goal is required`, `policy.restart must be one of never, on_failure, always`, `unknown field "colour"`.
 * zod's own wording ("Invalid input: expected string, received undefined") names the library's view, not the
 * caller's. Issue codes we do not know keep zod's message, prefixed with the field.
 */
export interface ValidationIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Where a field sits, in the words of someone writing the request. */
const PART: Record<string, string> = {
  body: '', querystring: 'query parameter ', params: 'path parameter ', headers: 'header ',
};

export function describeIssue(issue: ValidationIssue, where: string): string {
  const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const field = path === '' ? null : `${PART[where] ?? `${where} `}${path}`;
  const subject = field ?? (where === 'body' ? 'the body' : where);
  const p = issue.params;
  const message = issue.message ?? 'is not valid';
  switch (issue.keyword) {
    case 'invalid_type': {
      const received = /received (\w+)/.exec(message)?.[1];
      if (received === 'undefined') return `${subject} is required`;
      if (field === null && where === 'body') return `the body must be a JSON object${received ? ` (got ${article(received)})` : ''}`;
      return `${subject} must be ${article(String(p.expected ?? 'another type'))}${received ? ` (got ${article(received)})` : ''}`;
    }
    case 'too_small':
      if (p.origin === 'string') return Number(p.minimum) <= 1 ? `${subject} must not be empty` : `${subject} must have at least ${String(p.minimum)} characters`;
      if (p.origin === 'array') return `${subject} must have at least ${String(p.minimum)} items`;
      return `${subject} must be ${p.inclusive === false ? 'greater than' : 'at least'} ${String(p.minimum)}`;
    case 'too_big':
      if (p.origin === 'string') return `${subject} must have at most ${String(p.maximum)} characters`;
      if (p.origin === 'array') return `${subject} must have at most ${String(p.maximum)} items`;
      return `${subject} must be ${p.inclusive === false ? 'less than' : 'at most'} ${String(p.maximum)}`;
    case 'invalid_value':
      return Array.isArray(p.values) ? `${subject} must be one of ${p.values.map(String).join(', ')}` : `${subject}: ${message}`;
    case 'unrecognized_keys': {
      const keys = Array.isArray(p.keys) ? p.keys.map((k) => `"${path ? `${path}.` : ''}${String(k)}"`) : [];
      const scope = where === 'body' ? '' : ` in the ${where}`;
      return `unknown field${keys.length === 1 ? '' : 's'} ${keys.join(', ')}${scope}`;
    }
    case 'invalid_format':
      // A pattern's own message says what is allowed (`ids are 1-64 of …`); zod's generic one does not.
      return p.format === 'regex' || !message.startsWith('Invalid') ? `${subject}: ${message}` : `${subject} must be a valid ${String(p.format ?? 'value')}`;
    default:
      return `${subject}: ${message}`;
  }
}

/** "string" → "a string", "object" → "an object", "NaN" → "not a number". */
function article(type: string): string {
  if (type === 'NaN') return 'not a number';
  if (type === 'undefined' || type === 'null') return type;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
