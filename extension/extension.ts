// The VS Code extension's entry point. The sidebar, commands and host client arrive with
// issue #4; until then activation does nothing.
export function activate(): void {}

export function deactivate(): void {}
