import { isIP } from 'node:net';

/**
 * Which addresses `fetch_webpage` may connect to. Every address is handled as a 128-bit IPv6 number, IPv4 as its
 * IPv4-mapped form (::ffff:a.b.c.d), so `::ffff:127.0.0.1` and `127.0.0.1` are one address and match one range.
 */
type Range = { label: string; base: bigint; prefix: number };

const V4_MAPPED = 0xffffn << 32n;

/** An IP address as a 128-bit number, or null when the text is not one (a zone id such as `%eth0` is ignored). */
export function parseAddress(text: string): bigint | null {
  const bare = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(bare);
  if (version === 4) return V4_MAPPED | ipv4(bare);
  if (version !== 6) return null;
  let groups = bare.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (dotted) {
    const v4 = ipv4(dotted[1]!);
    groups = `${groups.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = groups.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function ipv4(text: string): bigint {
  return text.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
}

function range(label: string, cidr: string): Range {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`bad built-in range ${cidr}`);
  return { label, ...parsed };
}

/** `a.b.c.d/n`, `x::/n` or a bare address (a range of one). */
export function parseCidr(text: string): { base: bigint; prefix: number } | null {
  const [address = '', bits] = text.split('/');
  const base = parseAddress(address);
  if (base === null) return null;
  const v4 = isIP(address.replace(/^\[|\]$/g, '')) === 4;
  const max = v4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const n = bits === undefined ? max : Number(bits);
  if (n > max) return null;
  const prefix = v4 ? 96 + n : n;
  return { base: base & mask(prefix), prefix };
}

const mask = (prefix: number): bigint => (prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n));
const contains = (r: { base: bigint; prefix: number }, address: bigint): boolean => (address & mask(r.prefix)) === r.base;

/** What fetch_webpage refuses, first match naming the reason. Metadata before link-local, so it is named as such. */
const BLOCKED: Range[] = [
  range('unspecified', '0.0.0.0/8'), range('unspecified', '::/128'),
  range('loopback', '127.0.0.0/8'), range('loopback', '::1/128'),
  range('private', '10.0.0.0/8'), range('private', '172.16.0.0/12'), range('private', '192.168.0.0/16'),
  range('shared (CGNAT)', '100.64.0.0/10'),
  range('cloud metadata', '169.254.169.254'), range('cloud metadata', 'fd00:ec2::254'),
  range('link-local', '169.254.0.0/16'), range('link-local', 'fe80::/10'),
  range('unique-local', 'fc00::/7'), range('site-local', 'fec0::/10'),
  range('multicast', '224.0.0.0/4'), range('multicast', 'ff00::/8'),
  range('reserved', '240.0.0.0/4'), range('reserved', '192.0.0.0/24'), range('IPv4-compatible', '::/96'),
];
/** Ranges that carry an IPv4 address inside (NAT64, 6to4): the embedded address is checked as well. */
const NAT64 = range('NAT64', '64:ff9b::/96');
const SIX_TO_FOUR = range('6to4', '2002::/16');

/** Host names of cloud metadata services (they resolve to a blocked address anyway; refused by name first). */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'metadata.goog', 'instance-data']);

/** Why an address may not be fetched (`loopback`, `private`, …), or null for a public address. */
export function blockedReason(address: bigint): string | null {
  for (const r of BLOCKED) if (contains(r, address)) return r.label;
  if (contains(NAT64, address)) return blockedReason(V4_MAPPED | (address & 0xffffffffn));
  if (contains(SIX_TO_FOUR, address)) return blockedReason(V4_MAPPED | ((address >> 80n) & 0xffffffffn));
  return null;
}

const isMetadata = (address: bigint): boolean => BLOCKED.some((r) => r.label === 'cloud metadata' && contains(r, address));

/** The operator's exceptions (AUTON_FETCH_ALLOW): host names, and addresses or CIDR ranges. */
export interface FetchAllowList {
  hosts: ReadonlySet<string>;
  ranges: ReadonlyArray<{ base: bigint; prefix: number }>;
}

export const EMPTY_ALLOW_LIST: FetchAllowList = { hosts: new Set(), ranges: [] };

const HOST = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;
const normalHost = (host: string): string => host.toLowerCase().replace(/\.$/, '');

/** Parses `AUTON_FETCH_ALLOW`: comma-separated host names, addresses and CIDR ranges. */
export function parseFetchAllow(text: string): { allow: FetchAllowList } | { error: string } {
  const hosts = new Set<string>();
  const ranges: Array<{ base: bigint; prefix: number }> = [];
  for (const entry of text.split(',').map((e) => e.trim()).filter((e) => e.length > 0)) {
    const cidr = parseCidr(entry);
    if (cidr) ranges.push(cidr);
    else if (!entry.includes('/') && HOST.test(normalHost(entry))) hosts.add(normalHost(entry));
    else return { error: `"${entry}" is neither a host name nor an address or CIDR range (like 10.1.0.0/16 or fd12::/64)` };
  }
  return { allow: { hosts, ranges } };
}

/** Whether the URL's host name is allowed as such (it may then resolve to any address). */
export function hostAllowed(allow: FetchAllowList, hostname: string): boolean {
  return allow.hosts.has(normalHost(hostname));
}

/** A reason to refuse the host name before resolving it (a metadata service's name), or null. */
export function blockedHostReason(allow: FetchAllowList, hostname: string): string | null {
  return METADATA_HOSTS.has(normalHost(hostname)) && !hostAllowed(allow, hostname) ? 'cloud metadata' : null;
}

/**
 * Why the address may not be reached, or null when it may: public, or inside an allowed range. A metadata address
 * is opened only by naming it exactly (a /32 or /128): allowing 169.254.0.0/16 for a device does not open it.
 */
export function refusedAddress(allow: FetchAllowList, address: bigint): string | null {
  const reason = blockedReason(address);
  if (reason === null) return null;
  const exact = isMetadata(address);
  return allow.ranges.some((r) => contains(r, address) && (!exact || r.prefix === 128)) ? null : reason;
}
