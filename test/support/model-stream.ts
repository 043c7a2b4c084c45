// Reading a model client's reply in host tests: every streamed chunk and the whole turn, and the
// ModelError a failing call throws.
import assert from 'node:assert/strict';
import {
  ModelError,
  type Model,
  type ModelChunk,
  type ModelRequest,
  type ModelTurn,
} from '../../host/model/model.js';

/** Drains `model.stream(request)`: its chunks in order, then the turn it returned. */
export async function streamAll(
  model: Model,
  request: ModelRequest,
): Promise<{ chunks: ModelChunk[]; turn: ModelTurn }> {
  const chunks: ModelChunk[] = [];
  const gen = model.stream(request);
  for (;;) {
    const r = await gen.next();
    if (r.done) return { chunks, turn: r.value };
    chunks.push(r.value);
  }
}

/** The ModelError `p` rejects with; fails the test when it resolves or throws anything else. */
export async function modelError(p: Promise<unknown>): Promise<ModelError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ModelError, `expected a ModelError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ModelError');
}
