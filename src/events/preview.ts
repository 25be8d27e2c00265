/**
 * The first `maxChars` characters of `text` as a string of their own, for an event's preview of a reply or a tool
 * result. `text.slice()` would not do: V8 makes a slice of a longer string a view that keeps the whole of it alive,
 * so every `tool_result` event held in the replay buffer kept its whole ~20 KB page for a 500-character preview
 * (and the buffer's byte bound counted 500). The copy is made through JSON, which keeps every UTF-16 unit as it is.
 */
export function preview(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return JSON.parse(JSON.stringify(text.slice(0, maxChars))) as string;
}
