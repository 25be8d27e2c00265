/**
 * Open SSE streams per client (a key's name, or an address when authentication is off), so one client cannot
 * hold every socket the daemon has: past `maxPerClient` a new stream is refused with a 429.
 */
export class SseClients {
  private readonly byClient = new Map<string, number>();
  private total = 0;

  constructor(readonly maxPerClient: number) {}

  /** Counts a new stream for `client`; false (and nothing counted) when it already has its maximum. */
  tryOpen(client: string): boolean {
    const open = this.byClient.get(client) ?? 0;
    if (open >= this.maxPerClient) return false;
    this.byClient.set(client, open + 1);
    this.total += 1;
    return true;
  }

  release(client: string): void {
    const open = this.byClient.get(client);
    if (open === undefined) return;
    if (open <= 1) this.byClient.delete(client);
    else this.byClient.set(client, open - 1);
    this.total -= 1;
  }

  /** Streams open now, across all clients (the `auton_sse_clients` gauge). */
  get size(): number {
    return this.total;
  }
}
