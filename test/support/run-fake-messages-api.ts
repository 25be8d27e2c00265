import { startFakeMessagesApi } from './fake-messages-api.js';

/**
 * `npm run fake-llm`: the test suite's fake Messages API as a standalone server, for trying Auton without an
 * API key. Every call answers a short text turn, so agents run a turn and go idle.
 */
const fake = await startFakeMessagesApi({ port: Number(process.env.FAKE_LLM_PORT ?? 8421) });
fake.setHandler((req) => ({ kind: 'text', text: `(fake model) noted: ${JSON.stringify(req.body.messages.at(-1)?.content).slice(0, 200)}` }));
process.stdout.write(`fake Messages API on ${fake.url}\nstart the daemon with:\n  ANTHROPIC_API_KEY=fake ANTHROPIC_BASE_URL=${fake.url} npm start\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void fake.close().then(() => process.exit(0)));
