// The sidebar's HTML: a strict CSP whose only script is the bundle carrying the nonce, and the
// stylesheets (its own, the codicons) from dist/. Pure: VS Code's cspSource and webview URIs
// are passed in.
import { randomBytes } from 'node:crypto';

export interface SidebarHtmlInput {
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  /** VS Code's icon font stylesheet (@vscode/codicons, copied into dist/ by esbuild.mjs). */
  codiconUri: string;
}

/** A fresh nonce per render, from the OS's CSPRNG (never Math.random). */
export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${cspSource}`,
    `font-src ${cspSource}`,
  ].join('; ');
}

const attr = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function sidebarHtml(input: SidebarHtmlInput): string {
  const { cspSource, nonce, scriptUri, styleUri, codiconUri } = input;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(codiconUri)}">
<link rel="stylesheet" href="${attr(styleUri)}">
<title>Airlock</title>
</head>
<body>
<script nonce="${attr(nonce)}" src="${attr(scriptUri)}"></script>
</body>
</html>
`;
}
