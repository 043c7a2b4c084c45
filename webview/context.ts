// What every part of the sidebar needs: the remembered UI state and the request channel.
import type { Requests } from './requests.js';
import type { UiStore } from './ui-state.js';

export interface Ctx {
  ui: UiStore;
  requests: Requests;
  /** An accepted "always" decision: the run's output says which rule it made. */
  decided?: (runId: string, text: string) => void;
}
