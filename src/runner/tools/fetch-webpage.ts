import type { ClientTool } from './tool.js';
import { stringInput } from './tool.js';

/** Limits of fetch_webpage: how long it waits, how much it reads, how much text it returns to the model. */
export const FETCH_TIMEOUT_MS = 15_000;
export const FETCH_MAX_BYTES = 2 * 1024 * 1024;
export const FETCH_MAX_TEXT_CHARS = 20_000;

export const fetchWebpage: ClientTool = {
  definition: {
    name: 'fetch_webpage',
    description: 'Fetch a web page (http or https) and return its text content, without markup.',
    input_schema: { type: 'object', properties: { url: { type: 'string', description: 'The absolute http(s) URL' } }, required: ['url'] },
  },
  async run(input, ctx) {
    const raw = stringInput(input, 'url')!;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`not a URL: ${raw}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('only http and https URLs can be fetched');
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]);
    const response = await fetch(url, { signal, redirect: 'follow', headers: { 'user-agent': 'auton-agent/0.1' } });
    const body = await readCapped(response, FETCH_MAX_BYTES);
    const type = response.headers.get('content-type') ?? '';
    const text = type.includes('html') ? htmlToText(body) : body;
    const clipped = text.length > FETCH_MAX_TEXT_CHARS ? `${text.slice(0, FETCH_MAX_TEXT_CHARS)}\n[truncated]` : text;
    return `HTTP ${response.status} ${url.href}\n\n${clipped}`;
  },
};

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < maxBytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, maxBytes));
}

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
