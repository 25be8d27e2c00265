import { withDeadline } from '../../net/deadline.js';
import { safeFetch } from '../../net/safe-fetch.js';
import type { ClientTool } from './tool.js';
import { stringInput } from './tool.js';

/** Limits of fetch_webpage: how long it waits, how much it reads, how much text it returns to the model. */
export const FETCH_TIMEOUT_MS = 15_000;
export const FETCH_MAX_BYTES = 2 * 1024 * 1024;
export const FETCH_MAX_TEXT_CHARS = 20_000;
/** Redirects followed, each checked like the first URL (README "Security"). */
export const FETCH_MAX_REDIRECTS = 5;

export const fetchWebpage: ClientTool = {
  definition: {
    name: 'fetch_webpage',
    description: 'Fetch a public web page (http or https) and return its text content, without markup.',
    input_schema: { type: 'object', properties: { url: { type: 'string', description: 'The absolute http(s) URL' } }, required: ['url'] },
  },
  async run(input, ctx) {
    const raw = stringInput(input, 'url')!;
    const page = await withDeadline(ctx.signal, FETCH_TIMEOUT_MS, (signal) => safeFetch(raw, ctx.fetchPolicy, {
      signal, maxBytes: FETCH_MAX_BYTES, maxRedirects: FETCH_MAX_REDIRECTS, headers: { 'user-agent': 'auton-agent/0.1' },
    }));
    const text = page.contentType.includes('html') ? htmlToText(page.body) : page.body;
    const clipped = text.length > FETCH_MAX_TEXT_CHARS ? `${text.slice(0, FETCH_MAX_TEXT_CHARS)}\n[truncated]` : text;
    return `HTTP ${page.status} ${page.url.href}\n\n${clipped}`;
  },
};

/** Good-enough text extraction: drop scripts, styles and tags, decode the common entities, fold white space. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|noscript|svg)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|li|h[1-6]|tr|section|article)>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n\n')
    .trim();
}
