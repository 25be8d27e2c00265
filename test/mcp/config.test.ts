import { describe, expect, it, vi } from 'vitest';
import { parseMcpConfig } from '../../src/mcp/config.js';
import { McpPool } from '../../src/mcp/pool.js';
import { testServer } from './mcp-support.js';

describe('AUTON_MCP_CONFIG (the mcpServers shape of Claude Code and Claude Desktop)', () => {
  it('reads stdio and streamable-HTTP servers, expanding ${VAR} from the daemon\'s environment', () => {
    const servers = parseMcpConfig(JSON.stringify({
      mcpServers: {
        fs: { command: 'npx', args: ['-y', 'server', '${HOME_DIR}'], env: { TOKEN: '${TOKEN}' }, timeout: 5000 },
        tickets: { type: 'http', url: 'https://tickets.example/mcp', headers: { Authorization: 'Bearer ${TOKEN}', 'X-Team': '${TEAM:-core}' } },
      },
    }), { HOME_DIR: '/srv/files', TOKEN: 't0k' });
    expect(servers.fs).toEqual({ command: 'npx', args: ['-y', 'server', '/srv/files'], env: { TOKEN: 't0k' }, timeout: 5000 });
    expect(servers.tickets).toEqual({ type: 'http', url: 'https://tickets.example/mcp', headers: { Authorization: 'Bearer t0k', 'X-Team': 'core' } });
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['an unset variable', JSON.stringify({ mcpServers: { a: { command: '${NOPE}' } } }), /\$\{NOPE\} is not set/],
    ['a server name with "__"', JSON.stringify({ mcpServers: { a__b: { command: 'x' } } }), /server names/],
    ['an unknown field', JSON.stringify({ mcpServers: { a: { command: 'x', shell: true } } }), /mcpServers\.a/],
    ['no command or url', JSON.stringify({ mcpServers: { a: {} } }), /mcpServers\.a/],
  ])('refuses %s with one line naming it', (_what, text, message) => {
    expect(() => parseMcpConfig(text, {})).toThrow(message);
  });
});

describe('a stdio server\'s stderr', () => {
  it('goes to the daemon log, one entry per line, under the server\'s name', async () => {
    const log = vi.fn();
    const pool = new McpPool({ t: testServer() }, { callTimeoutMs: 5_000, startTimeoutMs: 30_000, restartBackoffMs: 50, log, clock: Date.now });
    try {
      await pool.get('t')!.ready();
      await vi.waitFor(() => expect(log).toHaveBeenCalledWith('info', { mcp: 't', stderr: 'test server up' }, 'MCP server stderr'), { timeout: 5_000, interval: 10 });
    } finally {
      await pool.close();
    }
  });
});

describe('a bad AUTON_MCP_CONFIG at start', () => {
  it('is a ConfigError of one line, like any bad variable', async () => {
    const { ConfigError, loadConfig } = await import('../../src/config.js');
    expect(() => loadConfig({ AUTON_MCP_CONFIG: '/nonexistent/mcp.json' })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTON_MCP_CONFIG: '/nonexistent/mcp.json' })).toThrow(/AUTON_MCP_CONFIG=\/nonexistent\/mcp.json: ENOENT/);
  });
});

describe('a streamable-HTTP server at shutdown', () => {
  it('is told the session ends (DELETE), so it can free it', async () => {
    const { startHttpTestServer } = await import('../support/mcp-test-server.js');
    const remote = await startHttpTestServer();
    const pool = new McpPool({ r: { type: 'http', url: remote.url, headers: {} } }, { callTimeoutMs: 5_000, startTimeoutMs: 5_000, restartBackoffMs: 50, log: () => {}, clock: Date.now });
    try {
      await pool.get('r')!.ready();
      expect(remote.sessionCount()).toBe(1);
      await pool.close();
      expect(remote.sessionCount()).toBe(0);
    } finally {
      await pool.close();
      await remote.close();
    }
  });
});
