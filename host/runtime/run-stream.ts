// What `agent.run()` returns: an async iterable of events that runs lazily, plus `.collect()`.
import type { OutputEvent, RunEvent } from '../protocol/events.js';

export class RunStream implements AsyncIterable<RunEvent> {
  private started = false;

  constructor(private readonly source: () => AsyncGenerator<RunEvent, void>) {}

  [Symbol.asyncIterator](): AsyncIterator<RunEvent> {
    if (this.started) throw new Error('A run stream can be consumed once.');
    this.started = true;
    return this.source();
  }

  /** Drains the run and returns its final output event; `onEvent` sees every event on the way. */
  async collect(onEvent?: (event: RunEvent) => void): Promise<OutputEvent> {
    let output: OutputEvent | undefined;
    for await (const event of this) {
      onEvent?.(event);
      if (event.type === 'output') output = event;
    }
    if (!output) throw new Error('The run ended without an output event.');
    return output;
  }
}
