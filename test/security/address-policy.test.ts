import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { blockedReason, parseAddress, parseFetchAllow, refusedAddress, type FetchAllowList } from '../../src/net/address-policy.js';

const reason = (address: string) => blockedReason(parseAddress(address)!);
const allowList = (text: string): FetchAllowList => {
  const parsed = parseFetchAllow(text);
  if (!('allow' in parsed)) throw new Error(parsed.error);
  return parsed.allow;
};

describe('17.6: the addresses fetch_webpage refuses', () => {
  it.each([
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['::1', 'loopback'], ['[::1]', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared (CGNAT)'], ['100.127.255.254', 'shared (CGNAT)'],
    ['169.254.169.254', 'cloud metadata'], ['fd00:ec2::254', 'cloud metadata'],
    ['169.254.1.1', 'link-local'], ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'], ['fd12:3456::1', 'unique-local'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'], ['ff02::1', 'multicast'], ['255.255.255.255', 'reserved'],
    // IPv4-mapped IPv6, in both spellings, and the forms that carry an IPv4 address inside.
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:169.254.169.254', 'cloud metadata'],
    ['::ffff:10.0.0.1', 'private'], ['::ffff:a9fe:a9fe', 'cloud metadata'], ['0:0:0:0:0:ffff:c0a8:0101', 'private'],
    ['64:ff9b::127.0.0.1', 'loopback'], ['2002:7f00:1::', 'loopback'], ['::127.0.0.1', 'IPv4-compatible'],
  ])('%s is %s', (address, why) => {
    expect(reason(address)).toBe(why);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:0808:0808::'])(
    '%s is public', (address) => expect(reason(address)).toBeNull(),
  );

  it('AUTON_FETCH_ALLOW opens addresses and ranges, but a metadata address only when named exactly', () => {
    const allow = allowList('127.0.0.1, 10.0.0.0/8, 169.254.0.0/16, fd00::/8');
    expect(refusedAddress(allow, parseAddress('127.0.0.1')!)).toBeNull();
    expect(refusedAddress(allow, parseAddress('::ffff:127.0.0.1')!)).toBeNull();
    expect(refusedAddress(allow, parseAddress('127.0.0.2')!)).toBe('loopback');
    expect(refusedAddress(allow, parseAddress('10.9.8.7')!)).toBeNull();
    expect(refusedAddress(allow, parseAddress('169.254.1.1')!)).toBeNull();
    expect(refusedAddress(allow, parseAddress('169.254.169.254')!)).toBe('cloud metadata');
    expect(refusedAddress(allow, parseAddress('fd00:ec2::254')!)).toBe('cloud metadata');
    expect(refusedAddress(allowList('169.254.169.254'), parseAddress('169.254.169.254')!)).toBeNull();
  });

  it.each(['10.0.0.0/33', 'fd00::/129', 'not a host!', 'example.com/path', '1.2.3.4/x'])(
    'refuses AUTON_FETCH_ALLOW=%s at start with one line naming the variable', (value) => {
      expect(() => loadConfig({ AUTON_FETCH_ALLOW: value })).toThrow(ConfigError);
      expect(() => loadConfig({ AUTON_FETCH_ALLOW: value })).toThrow(/^invalid AUTON_FETCH_ALLOW=.*neither a host name nor an address or CIDR range/);
    },
  );

  it('reads host names, addresses and ranges from AUTON_FETCH_ALLOW', () => {
    const { AUTON_FETCH_ALLOW: allow } = loadConfig({ AUTON_FETCH_ALLOW: 'Intranet.Example.com., 10.0.0.0/8,::1' });
    expect([...allow.hosts]).toEqual(['intranet.example.com']);
    expect(allow.ranges).toHaveLength(2);
    expect(loadConfig({}).AUTON_FETCH_ALLOW.ranges).toHaveLength(0);
  });
});
