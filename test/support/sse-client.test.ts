import { describe, expect, it } from 'vitest';
import { SseParser, type ParsedEvent } from './sse-client.js';

function parse(...chunks: string[]) {
  const events: ParsedEvent[] = [];
  const comments: string[] = [];
  const parser = new SseParser((e) => events.push(e), (c) => comments.push(c));
  for (const chunk of chunks) parser.push(chunk);
  return { events, comments, parser };
}

describe('the test SSE parser', () => {
  it('dispatches on a blank line, parsing JSON data', () => {
    expect(parse('id: 7\nevent: spawned\ndata: {"a":1}\n\n').events).toEqual([{ id: '7', event: 'spawned', data: { a: 1 } }]);
  });

  it('joins multi-line data with newlines and defaults the type to message', () => {
    expect(parse('data: first\ndata: second\n\n').events).toEqual([{ event: 'message', data: 'first\nsecond' }]);
  });

  it('skips comments, keeps them apart, and does not dispatch an event without data', () => {
    const { events, comments } = parse(': connected\n\nevent: ping\n\n:x\ndata: 1\n\n');
    expect(comments).toEqual(['connected', 'x']);
    expect(events).toEqual([{ event: 'message', data: 1 }]);
  });

  it('handles CRLF and CR line endings and chunks split anywhere, even inside CRLF', () => {
    const wire = 'event: a\r\ndata: {"n":1}\r\n\r\nevent: b\rdata: 2\r\r\n';
    for (let cut = 1; cut < wire.length; cut++) {
      expect(parse(wire.slice(0, cut), wire.slice(cut)).events, `cut at ${cut}`).toEqual([
        { event: 'a', data: { n: 1 } }, { event: 'b', data: 2 },
      ]);
    }
  });

  it('strips one leading space from values only, and takes a field without a colon as empty', () => {
    expect(parse('data:  two spaces\ndata\n\n').events[0]?.data).toBe(' two spaces\n');
  });

  it("keeps the last id for reconnecting, but sets an event's id only from its own block", () => {
    const { events, parser } = parse('id: 3\ndata: 1\n\ndata: 2\n\n');
    expect(events.map((e) => e.id)).toEqual(['3', undefined]);
    expect(parser.lastEventId).toBe('3');
  });
});
