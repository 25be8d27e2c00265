import { expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

it('AUTON_LEASE_TTL_MS defaults to 15 s and refuses values a renewal every third could not keep', () => {
  expect(loadConfig({}).AUTON_LEASE_TTL_MS).toBe(15_000);
  expect(loadConfig({ AUTON_LEASE_TTL_MS: '30000' }).AUTON_LEASE_TTL_MS).toBe(30_000);
  expect(() => loadConfig({ AUTON_LEASE_TTL_MS: '500' })).toThrow(ConfigError);
  expect(() => loadConfig({ AUTON_LEASE_TTL_MS: 'soon' })).toThrow(/^invalid AUTON_LEASE_TTL_MS="soon"/);
});
