/**
 * Lets at most `perTurn` new MCP requests start in one turn of the event loop;
 * the rest start in later turns, in arrival order. Requests that arrive
 * together (a client with 100 calls in flight sends them together) would
 * otherwise all run their first, CPU-heavy steps (the SDK's parsing, a server
 * instance, the tool's checks) back to back in one turn, while timers, probes
 * and the answers of calls already running waited for all of them (the
 * figures are beside the listener's pacer). A lone request starts at once.
 */
export class TurnPacer {
  private startedThisTurn = 0;
  private turnClosing = false;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly perTurn: number) {}

  /** Resolves when this request may start. */
  turn(): Promise<void> {
    this.closeTurnSoon();
    if (this.waiting.length === 0 && this.startedThisTurn < this.perTurn) {
      this.startedThisTurn++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** At the end of this turn (check phase) the count starts again, and the next waiters are let in a turn later. */
  private closeTurnSoon(): void {
    if (this.turnClosing) return;
    this.turnClosing = true;
    setImmediate(() => {
      this.startedThisTurn = 0;
      this.turnClosing = false;
      if (this.waiting.length > 0) setImmediate(() => this.release());
    });
  }

  private release(): void {
    this.closeTurnSoon();
    while (this.waiting.length > 0 && this.startedThisTurn < this.perTurn) {
      this.startedThisTurn++;
      this.waiting.shift()!();
    }
  }
}
