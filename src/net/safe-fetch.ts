import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { blockedHostReason, hostAllowed, parseAddress, refusedAddress, type FetchAllowList } from './address-policy.js';

/** Resolves a host name to its addresses (DNS in the daemon; a table in tests, which never touch the network). */
export type HostResolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const dnsResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface FetchPolicy {
  allow: FetchAllowList;
  resolve?: HostResolver;
}

export interface SafeFetchOptions {
  signal: AbortSignal;
  maxBytes: number;
  maxRedirects: number;
  headers?: Record<string, string>;
}

export interface FetchedPage {
  status: number;
  /** The URL the body came from, after redirects. */
  url: URL;
  contentType: string;
  body: string;
}

/** A fetch the policy refused; its message is what the model reads. */
export class FetchRefused extends Error {}

/**
 * GET with the SSRF rules of README "Security": http(s) only; the host resolved once per hop, every address checked,
 * and the connection made to the checked address (a custom `lookup`), so a DNS answer that changes between the
 * check and the connect (rebinding) cannot move it; redirects followed by hand, each hop checked the same way.
 */
export async function safeFetch(raw: string, policy: FetchPolicy, options: SafeFetchOptions): Promise<FetchedPage> {
  let url = parseUrl(raw);
  for (let hop = 0; ; hop++) {
    const pinned = await checkedAddress(url, policy, options.signal);
    const res = await get(url, pinned, options);
    const location = res.headers.location;
    if (res.statusCode !== undefined && [301, 302, 303, 307, 308].includes(res.statusCode) && location) {
      res.destroy();
      if (hop >= options.maxRedirects) throw new FetchRefused(`refused: more than ${options.maxRedirects} redirects (last to ${location})`);
      url = parseUrl(location, url);
      continue;
    }
    let body: string;
    try {
      body = await readCapped(decoded(res), options.maxBytes);
    } finally {
      res.destroy();
    }
    return { status: res.statusCode ?? 0, url, contentType: String(res.headers['content-type'] ?? ''), body };
  }
}

function parseUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw new Error(`not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`only http and https URLs can be fetched (not ${url.protocol})`);
  return url;
}

/** The address to connect to, after every address the host resolves to passed the policy. */
async function checkedAddress(url: URL, policy: FetchPolicy, signal: AbortSignal): Promise<{ address: string; family: number }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const refuse = (address: string, reason: string) => new FetchRefused(
    `refused: ${url.href} ${address === host ? 'is' : `resolves to ${address},`} a ${reason} address; fetch_webpage reaches ` +
    'public addresses only (an operator may allow others with AUTON_FETCH_ALLOW)',
  );
  const literal = parseAddress(host);
  if (literal !== null) {
    const reason = refusedAddress(policy.allow, literal);
    if (reason) throw refuse(host, reason);
    return { address: host, family: host.includes(':') ? 6 : 4 };
  }
  const byName = blockedHostReason(policy.allow, host);
  if (byName) throw refuse(host, byName);
  const addresses = await abortable((policy.resolve ?? dnsResolver)(host), signal);
  if (addresses.length === 0) throw new Error(`${host} has no address`);
  if (!hostAllowed(policy.allow, host)) {
    // Every answer is checked, not just the one used: a name with one public and one private address is refused.
    for (const { address } of addresses) {
      const parsed = parseAddress(address);
      const reason = parsed === null ? 'unparsable' : refusedAddress(policy.allow, parsed);
      if (reason) throw refuse(address, reason);
    }
  }
  return addresses[0]!;
}

function get(url: URL, pinned: { address: string; family: number }, options: SafeFetchOptions): Promise<IncomingMessage> {
  const lookup: LookupFunction = (_host, opts, callback) => {
    if (opts.all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'GET', agent: false, lookup, signal: options.signal,
      headers: { 'accept-encoding': 'gzip, deflate, br', ...options.headers },
    }, resolve);
    request.once('error', reject);
    request.end();
  });
}

function decoded(res: IncomingMessage): Readable {
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : null;
  if (!decoder) return res;
  res.on('error', (error) => decoder.destroy(error));
  return res.pipe(decoder);
}

/** Reads at most `maxBytes` (after decompression, so a small bomb cannot fill memory), then drops the connection. */
async function readCapped(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).byteLength;
      if (size >= maxBytes) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
