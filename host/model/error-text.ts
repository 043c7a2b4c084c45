// The server's own explanation of a failed request, whatever shape its error body has: OpenAI's
// `{error: {message}}`, Gemini's array of those, FastAPI's `detail` (a string, or a list of
// `{loc, msg}` as Mistral and vLLM send), a top-level `message` (itself a string, an object, or a
// JSON text), `{error: "text"}` (Ollama), or plain text (a proxy's error page).

const MAX_DEPTH = 6;

/** The explanation in a parsed body or a raw text, or undefined when it holds none. */
export function serverExplanation(body: unknown): string | undefined {
  const found = explain(body, 0);
  return found ? oneLine(found) : undefined;
}

function explain(value: unknown, depth: number): string | undefined {
  if (depth > MAX_DEPTH || value === null || value === undefined) return undefined;
  if (typeof value === 'string') return explainText(value, depth);
  if (Array.isArray(value)) {
    const parts = value.map((v) => explain(v, depth + 1)).filter((s): s is string => !!s);
    return parts.length ? [...new Set(parts)].join('; ') : undefined;
  }
  if (typeof value !== 'object') return undefined;
  const o = value as Record<string, unknown>;
  // A FastAPI / pydantic validation item: where, then what.
  if (typeof o.msg === 'string') {
    const loc = Array.isArray(o.loc) ? o.loc.map(String).join('.') : '';
    const type = typeof o.type === 'string' ? ` (${o.type})` : '';
    return `${loc ? `${loc}: ` : ''}${o.msg}${type}`;
  }
  for (const key of ['error', 'detail', 'message', 'error_description', 'title']) {
    const inner = explain(o[key], depth + 1);
    if (inner) return inner;
  }
  return undefined;
}

function explainText(text: string, depth: number): string | undefined {
  const t = text.trim();
  if (!t) return undefined;
  // A JSON text inside a field (Mistral has sent `message` as a JSON string of `{detail: [...]}`).
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return explain(JSON.parse(t) as unknown, depth + 1) ?? t;
    } catch {
      // not JSON after all: the text itself
    }
  }
  // An HTML error page from a proxy: its text, without the markup.
  if (/^<(!doctype|html|head|body)\b/i.test(t)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(t)?.[1]?.trim();
    const bodyText = t
      .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]+>/g, ' ')
      .trim();
    return title || bodyText || undefined;
  }
  return t;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
