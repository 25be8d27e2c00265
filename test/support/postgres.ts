import { afterAll, beforeAll, describe } from 'vitest';
import { INSTALL_HINT, PG_BIN, postgresInstalled, startPostgres, type TestPostgres } from './postgres-server.js';

export { PASSWORD_ROLE, postgresInstalled, startPostgres, type TestPostgres } from './postgres-server.js';

/**
 * `describe` for tests that need PostgreSQL: one server for the suite, started before its first test. Call it
 * once per file (nest plain `describe`s inside) so a file costs one server start, about a second. Without the
 * binaries the tests are skipped with one line saying why and how to install them; with `CI=true` they fail
 * instead, so CI never passes by skipping.
 */
export function describeWithPostgres(name: string, body: (pg: () => TestPostgres) => void): void {
  if (!postgresInstalled) {
    if (process.env.CI === 'true') {
      throw new Error(`CI=true and PostgreSQL is not installed at ${PG_BIN} (${INSTALL_HINT}); .ci/run installs it`);
    }
    // Printed while collecting, so even a file whose every test is skipped says why (vitest counts the skips).
    console.warn(`PostgreSQL not installed at ${PG_BIN}: skipping the tests of "${name}" (${INSTALL_HINT})`);
    describe.skip(`${name} [skipped: PostgreSQL not installed]`, () => {
      body(() => {
        throw new Error('unreachable: the suite is skipped');
      });
    });
    return;
  }
  describe(name, () => {
    let server: TestPostgres | undefined;
    beforeAll(async () => {
      server = await startPostgres();
    });
    afterAll(async () => {
      await server?.stop();
    });
    body(() => {
      if (!server) throw new Error('PostgreSQL is not started yet: use it inside a test or hook');
      return server;
    });
  });
}
