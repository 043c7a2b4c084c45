// The sidebar webview's entry point; the UI arrives with issue #4.
export {};
