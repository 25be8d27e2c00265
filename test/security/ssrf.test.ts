import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMPTY_ALLOW_LIST, parseFetchAllow, type FetchAllowList } from '../../src/net/address-policy.js';
import { safeFetch, type FetchPolicy, type HostResolver } from '../../src/net/safe-fetch.js';
import { api, spawnAgent, startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { dataOf, openSse } from '../support/sse-client.js';
import { lastUserBlocks, requestsOf, scriptByAgent, TEXT_OK } from '../runner/runner-support.js';

/** A page server on loopback standing in for a metadata service and for a web site; it records every request. */
let site: Server;
let port: number;
let seen: Array<{ url: string; host: string | undefined }>;
const SECRET = 'AKIA-SECRET-do-not-leak';
beforeEach(async () => {
  seen = [];
  site = createServer((req, res) => {
    seen.push({ url: req.url ?? '', host: (req.headers as IncomingHttpHeaders).host });
    if (req.url?.startsWith('/hop-to-loopback')) {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/latest/meta-data/iam` });
      return res.end();
    }
    if (req.url === '/relative') {
      res.writeHead(301, { location: '/page' });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(req.url?.startsWith('/latest/meta-data') ? SECRET : 'a public page');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  port = (site.address() as AddressInfo).port;
});
afterEach(() => new Promise<void>((resolve) => {
  site.close(() => resolve());
  site.closeAllConnections();
}));

const allow = (text: string): FetchAllowList => {
  const parsed = parseFetchAllow(text);
  if (!('allow' in parsed)) throw new Error(parsed.error);
  return parsed.allow;
};
/** Stands in for DNS: every name in `table` resolves to its address; it counts the questions. */
function resolver(table: Record<string, string>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (host: string) => {
    asked.push(host);
    const address = table[host];
    if (!address) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  return Object.assign(resolve, { asked });
}
const fetchWith = (url: string, policy: FetchPolicy) => safeFetch(url, policy, { signal: AbortSignal.timeout(5_000), maxBytes: 1024, maxRedirects: 5 });

describe('17.6: safe fetching', () => {
  it('17.6: a public-looking host that resolves to 127.0.0.1 is refused, and nothing is requested', async () => {
    const resolve = resolver({ 'news.example.com': '127.0.0.1' });
    await expect(fetchWith(`http://news.example.com:${port}/latest/meta-data/iam`, { allow: EMPTY_ALLOW_LIST, resolve }))
      .rejects.toThrow(/^refused: .* resolves to 127\.0\.0\.1, a loopback address; fetch_webpage reaches public addresses only .*AUTON_FETCH_ALLOW/);
    expect(seen).toEqual([]);
  });

  it('17.6: a host with one public and one private address is refused', async () => {
    const resolve: HostResolver = async () => [{ address: '93.184.216.34', family: 4 }, { address: '::ffff:10.0.0.5', family: 6 }];
    await expect(fetchWith('http://mixed.example.com/', { allow: EMPTY_ALLOW_LIST, resolve })).rejects.toThrow(/a private address/);
  });

  it('17.6: a redirect from an allowed server to 127.0.0.1 is refused', async () => {
    // The operator allows the host name pages.test (which lives on loopback here), not loopback itself.
    const policy = { allow: allow('pages.test'), resolve: resolver({ 'pages.test': '127.0.0.1' }) };
    await expect(fetchWith(`http://pages.test:${port}/hop-to-loopback`, policy))
      .rejects.toThrow(`refused: http://127.0.0.1:${port}/latest/meta-data/iam is a loopback address`);
    expect(seen.map((r) => r.url)).toEqual(['/hop-to-loopback']);
  });

  it('17.6: AUTON_FETCH_ALLOW=127.0.0.1 lets a local page server through, redirects included', async () => {
    const page = await fetchWith(`http://127.0.0.1:${port}/relative`, { allow: allow('127.0.0.1') });
    expect(page).toMatchObject({ status: 200, body: 'a public page' });
    expect(page.url.href).toBe(`http://127.0.0.1:${port}/page`);
  });

  it('17.6: connects to the address it checked: the name is resolved once per hop and sent as the Host header', async () => {
    // `pages.test` has no DNS entry: the request can only reach the server through the checked, pinned address.
    const resolve = resolver({ 'pages.test': '127.0.0.1' });
    const page = await fetchWith(`http://pages.test:${port}/page`, { allow: allow('pages.test'), resolve });
    expect(page.body).toBe('a public page');
    expect(resolve.asked).toEqual(['pages.test']);
    expect(seen).toEqual([{ url: '/page', host: `pages.test:${port}` }]);
  });

  it.each([
    ['a metadata host name', 'http://metadata.google.internal/computeMetadata/v1/', /metadata\.google\.internal.* is a cloud metadata address/],
    ['an IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/', /is a loopback address/],
    ['a decimal loopback', 'http://2130706433/', /127\.0\.0\.1.* is a loopback address/],
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/', /is a cloud metadata address/],
    ['a file URL', 'file:///etc/passwd', /only http and https/],
  ])('17.6: refuses %s before connecting', async (_what, url, message) => {
    await expect(fetchWith(url, { allow: EMPTY_ALLOW_LIST, resolve: resolver({}) })).rejects.toThrow(message);
  });

  it('17.6: stops after the redirect limit', async () => {
    const loop = createServer((req, res) => {
      res.writeHead(302, { location: '/again' });
      res.end();
    });
    await new Promise<void>((resolve) => loop.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(loop.address() as AddressInfo).port}/`;
      await expect(fetchWith(url, { allow: allow('127.0.0.1') })).rejects.toThrow(/more than 5 redirects/);
    } finally {
      loop.closeAllConnections();
      await new Promise((resolve) => loop.close(resolve));
    }
  });
});

describe('17.6: through the daemon, with keys', () => {
  const KEYS = { admin: 'admin-secret-0123456789', teamA: 'team-a-secret-0123456789' };
  let t: TestDaemon;
  beforeEach(async () => {
    t = await startTestDaemon({ AUTON_API_KEYS: `root=${KEYS.admin}:admin,tenant:team-a=${KEYS.teamA}` });
  });
  afterEach(() => t.close());

  it('17.6: a scoped agent cannot fetch a loopback address', async () => {
    const url = `http://127.0.0.1:${port}/latest/meta-data/iam`;
    scriptByAgent(t, { 'team-a/worker': [{ kind: 'tool_use', name: 'fetch_webpage', input: { url }, id: 'toolu_ssrf' }, TEXT_OK] });
    await spawnAgent(api(t.url, KEYS.admin), null, 'team-a');
    const tenant = api(t.url, KEYS.teamA);
    await spawnAgent(tenant, 'team-a', 'worker', { spec: { tools: ['fetch_webpage'] } });
    const stream = await openSse(`${t.url}/agents/team-a/worker/log`, { key: KEYS.teamA });
    // The same wait as nextState (runner-support): a model call, the refused fetch and a second model call.
    const result = await stream.next('tool_result', 5_000);
    await stream.next((e) => e.event === 'state_change' && dataOf(e).to === 'idle', 5_000);
    stream.close();

    expect(dataOf(result)).toMatchObject({ is_error: true, content: expect.stringContaining(`refused: ${url} is a loopback address`) });
    const [, answered] = requestsOf(t, 'team-a/worker');
    expect(lastUserBlocks(answered!)).toEqual([expect.objectContaining({ type: 'tool_result', tool_use_id: 'toolu_ssrf', is_error: true })]);
    expect(seen).toEqual([]);
    expect(stream.events.map((e) => e.data).join('\n')).not.toContain(SECRET);
  });
});
