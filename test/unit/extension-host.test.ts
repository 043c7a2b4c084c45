// The pure parts of talking to the host: the restart budget, request deadlines, reply parsing,
// refresh coalescing, and the pending model that feeds the sidebar, badge and notification.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResponseError } from 'vscode-jsonrpc';
import { ListRuns, Resume, StartRun, type Pending } from '../../host/protocol/rpc.js';
import { StateMessage } from '../../webview/protocol.js';
import { coalesce, PendingModel, toStateMessage } from '../../extension/pending-model.js';
import { RestartBudget } from '../../extension/restart-budget.js';
import {
  checkParams,
  errorMessage,
  isRefusal,
  parseReply,
  RequestTimeoutError,
  withTimeout,
} from '../../extension/rpc-call.js';
import { gate, pending, question, run } from './extension-fakes.js';

void describe('RestartBudget', () => {
  void it('allows 4 restarts within 3 minutes, then none until the oldest ages out', () => {
    let now = 0;
    const budget = new RestartBudget(4, 180_000, () => now);
    for (let i = 0; i < 4; i++) {
      now += 10_000;
      assert.equal(budget.allow(), true);
    }
    now += 10_000;
    assert.equal(budget.allow(), false);
    now = 10_000 + 180_000; // the first restart is 3 minutes old
    assert.equal(budget.allow(), true);
    assert.equal(budget.allow(), false);
    budget.reset();
    assert.equal(budget.allow(), true);
  });
});

void describe('requests', () => {
  void it('time out, cancelling the request', async () => {
    let cancelled = false;
    const never = new Promise<never>(() => undefined);
    await assert.rejects(
      withTimeout(never, 20, 'airlock/pending', () => (cancelled = true)),
      (err: unknown) =>
        err instanceof RequestTimeoutError && /airlock\/pending within 0.02 s/.test(err.message),
    );
    assert.equal(cancelled, true);
    assert.equal(await withTimeout(Promise.resolve(7), 1000, 'x'), 7);
  });

  void it('check params and parse replies with the method schemas', () => {
    assert.deepEqual(checkParams(StartRun, { prompt: ' go ' }), { prompt: 'go' });
    assert.throws(() => checkParams(StartRun, { prompt: '' }), /Invalid airlock\/startRun params/);
    assert.throws(() => checkParams(Resume, { run_id: 'r', resume: {}, extra: 1 }), /params/);
    assert.deepEqual(parseReply(ListRuns, { runs: [run()] }), { runs: [run()] });
    assert.throws(
      () => parseReply(ListRuns, { runs: [{ run_id: 1 }] }),
      /invalid airlock\/listRuns reply/,
    );
  });

  void it('tell a resume refusal from other errors', () => {
    const refused = new ResponseError(-32001, 'nothing ran');
    assert.equal(isRefusal(refused), true);
    assert.equal(isRefusal(new ResponseError(-32603, 'boom')), false);
    assert.equal(isRefusal(new Error('x')), false);
    assert.equal(errorMessage(refused), 'nothing ran');
    assert.equal(errorMessage('plain'), 'plain');
  });
});

void describe('coalesce', () => {
  void it('runs once at a time; calls during a run share one more run', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const refresh = coalesce(async () => {
      runs++;
      await new Promise<void>((resolve) => (release = resolve));
    });
    const first = refresh();
    const second = refresh();
    const third = refresh();
    assert.equal(second, third);
    assert.equal(runs, 1);
    release();
    await first;
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    assert.equal(runs, 2);
    release();
    await second;
    assert.equal(runs, 2);
  });
});

void describe('PendingModel', () => {
  void it('reports gates that arrive after the first read as new, once', async () => {
    let current: Pending = pending({ approvals: [gate()] });
    const model = new PendingModel(async () => ({ pending: current, runs: [run()] }));
    const seen: string[][] = [];
    model.onDidChange((_s, fresh) =>
      seen.push(
        fresh.map((f) => (f.tag === 'approval' ? f.event.approval_id : f.event.interaction_id)),
      ),
    );
    await model.refresh(); // what waited before (a reload) is not "new"
    current = pending({
      approvals: [gate(), gate({ approval_id: 'apr_2' })],
      interactions: [question()],
    });
    await model.refresh();
    await model.refresh();
    assert.deepEqual(seen, [[], ['apr_2', 'int_1'], []]);
    assert.equal(model.current.connected, true);
  });

  void it('keeps the last state and shows the error when a read fails', async () => {
    let fail = false;
    const model = new PendingModel(async () => {
      if (fail) throw new Error('The Airlock host did not answer airlock/pending within 30 s.');
      return { pending: pending({ approvals: [gate()] }), runs: [] };
    });
    await model.refresh();
    fail = true;
    await model.refresh();
    assert.equal(model.current.pending.approvals.length, 1);
    assert.match(model.current.error ?? '', /did not answer/);
    model.setConnection(false, 'The Airlock host stopped more than 4 times within 3 minutes.');
    await model.refresh(); // a read failing because of it does not hide why
    assert.equal(model.current.connected, false);
    assert.match(model.current.error ?? '', /stopped more than 4 times/);
    fail = false;
    await model.refresh();
    assert.deepEqual([model.current.connected, model.current.error], [true, null]);
  });

  void it('becomes a state message the webview protocol accepts', async () => {
    const model = new PendingModel(async () => ({
      pending: pending({ approvals: [gate()], interactions: [question()] }),
      runs: [run()],
    }));
    await model.refresh();
    const message = toStateMessage(model.current);
    assert.deepEqual(StateMessage.parse(message), message);
    assert.equal(message.runs[0]?.run_id, 'run_1');
    assert.equal(message.connected, true);
  });
});
