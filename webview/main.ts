// The sidebar webview's entry point (bundled to dist/webview.js). It registers for messages,
// says `ready` before anything else (the extension posts nothing until then), and hands every
// valid message to the app; anything that does not parse is ignored with a warning.
import { z } from 'zod';
import { App } from './app.js';
import { ToWebview } from './protocol.js';
import { Requests } from './requests.js';
import { UiStore } from './ui-state.js';
import { vscodeApi } from './vscode-api.js';

// The CSP has no 'unsafe-eval': tell zod not to probe `new Function` for its JIT.
z.config({ jitless: true });

function start(): void {
  const api = vscodeApi();
  const ui = new UiStore(api);
  const requests = new Requests(
    (message) => api.postMessage(message),
    () => ui.takeRequestId(),
  );
  const app = new App(document.body, { ui, requests });
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const parsed = ToWebview.safeParse(event.data);
    if (!parsed.success) {
      console.warn(
        'Airlock: ignoring a message that is not part of the protocol',
        parsed.error.issues,
      );
      return;
    }
    app.handle(parsed.data);
  });
  api.postMessage({ type: 'ready' });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start, { once: true });
} else {
  start();
}
