// After a reload the sidebar asks for the stored transcripts of the runs it lists: the message is
// validated, each run's events come back as one bounded `transcript` (its tail), and a run that
// cannot be read says why. An open trace is live: a run's events and database changes re-read it,
// a burst of them once, and only for traces that are open.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent } from '../../host/protocol/events.js';
import { GetRun } from '../../host/protocol/rpc.js';
import { syncTraces } from '../../extension/host-sync.js';
import { TraceRefresh, traceRunId } from '../../extension/trace-refresh.js';
import {
  MAX_TRANSCRIPT_EVENTS,
  parseInbound,
  transcriptMessage,
} from '../../extension/webview-requests.js';
import { TranscriptMessage } from '../../webview/protocol.js';
import { FakeHost } from './extension-fakes.js';

const delta = (i: number): RunEvent => ({ type: 'delta', run_id: 'run_1', text: `part ${i} ` });

/** Resolves once `check` holds (polled on the event loop; the test's own timeout bounds it). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

void describe('stored transcripts for the sidebar', () => {
  void it('parses loadTranscripts (1 to 20 run ids) and refuses anything else', () => {
    assert.deepEqual(parseInbound({ type: 'loadTranscripts', run_ids: ['run_1', 'run_2'] }), {
      tag: 'loadTranscripts',
      runIds: ['run_1', 'run_2'],
    });
    for (const bad of [
      { type: 'loadTranscripts', run_ids: [] },
      { type: 'loadTranscripts', run_ids: Array.from({ length: 21 }, (_, i) => `run_${i}`) },
      { type: 'loadTranscripts', run_ids: ['run_1'], id: 3 },
      { type: 'loadTranscripts' },
    ]) {
      assert.equal(parseInbound(bad).tag, 'invalid', JSON.stringify(bad).slice(0, 60));
    }
  });

  void it("sends a run's stored events read through airlock/getRun, the tail when long", async () => {
    const events = Array.from({ length: MAX_TRANSCRIPT_EVENTS + 25 }, (_, i) => delta(i));
    const host = new FakeHost({
      'airlock/getRun': (params: unknown) => {
        assert.deepEqual(params, { run_id: 'run_1' });
        return {
          run: {
            run_id: 'run_1',
            agent: 'workspace',
            workspace: '/ws',
            prompt: 'p',
            status: 'success',
            reason: 'completed',
            message: '',
            created_at: '2025-01-01T00:00:00.000Z',
            updated_at: '2025-01-01T00:00:01.000Z',
          },
          segments: [],
          events,
          decisions: [],
        };
      },
    });
    const load = async (run_id: string) => (await host.request(GetRun, { run_id })).events;
    const message = await transcriptMessage('run_1', load);
    TranscriptMessage.parse(message);
    assert.equal(message.omitted, 25);
    assert.equal(message.events.length, MAX_TRANSCRIPT_EVENTS);
    assert.deepEqual(message.events[0], delta(25));
    assert.deepEqual(message.events.at(-1), delta(MAX_TRANSCRIPT_EVENTS + 24));
    assert.equal(message.error, null);

    const short = await transcriptMessage('run_1', async () => [delta(1), delta(2)]);
    assert.deepEqual(short, {
      type: 'transcript',
      run_id: 'run_1',
      events: [delta(1), delta(2)],
      omitted: 0,
      error: null,
    });
  });

  void it('says why a transcript could not be read', async () => {
    const message = await transcriptMessage('run_9', () =>
      Promise.reject(new Error('There is no run run_9.')),
    );
    assert.deepEqual(message, {
      type: 'transcript',
      run_id: 'run_9',
      events: [],
      omitted: 0,
      error: 'There is no run run_9.',
    });
  });
});

void describe('live traces', () => {
  void it('re-reads an open trace once per burst of changes to its run (or a nested run), never a closed one', async () => {
    const fired: string[] = [];
    const refresh = new TraceRefresh((id) => fired.push(id), 5);
    refresh.watch('run_a');
    refresh.watch('run_b');
    refresh.changed('run_a');
    refresh.changed('run_a~call_1');
    refresh.changed('run_c'); // not open
    await until(() => fired.length > 0);
    assert.deepEqual(fired, ['run_a']);

    refresh.unwatch('run_a');
    refresh.changed(); // the database changed: every open trace
    await until(() => fired.length > 1);
    assert.deepEqual(fired, ['run_a', 'run_b']);
    refresh.dispose();
    assert.equal(traceRunId('run_a~x~y'), 'run_a');
  });

  void it("the host's events, database changes and restarts reach the traces (deltas do not)", () => {
    type Listener<T> = (value: T) => void;
    const listeners = {
      event: [] as Listener<RunEvent>[],
      changed: [] as Listener<void>[],
      status: [] as Listener<{ tag: string }>[],
    };
    const on =
      <T>(list: Listener<T>[]) =>
      (fn: Listener<T>) => {
        list.push(fn);
        return { dispose: () => list.splice(list.indexOf(fn), 1) };
      };
    const host = {
      onEvent: on(listeners.event),
      onChanged: on(listeners.changed),
      onStatus: on(listeners.status),
    };
    const changed: (string | undefined)[] = [];
    const subscriptions = syncTraces(host as unknown as Parameters<typeof syncTraces>[0], {
      runChanged: (id?: string) => changed.push(id),
    });
    for (const fn of listeners.event) fn(delta(1));
    for (const fn of listeners.event)
      fn({ type: 'tool_call', run_id: 'run_1', call_id: 'c1', tool: 'read_file', input: {} });
    for (const fn of listeners.changed) fn();
    for (const fn of listeners.status) fn({ tag: 'starting' });
    for (const fn of listeners.status) fn({ tag: 'running' });
    assert.deepEqual(changed, ['run_1', undefined, undefined]);
    for (const s of subscriptions) s.dispose();
    assert.equal(listeners.event.length + listeners.changed.length + listeners.status.length, 0);
  });
});
