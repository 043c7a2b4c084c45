// The one way the sidebar builds DOM: `h(tag, attrs, children)`. Text only ever goes in through
// text nodes, attributes through setAttribute, and event handlers through addEventListener, so an
// untrusted string (model output, file content, arguments) can never become markup or script.

export type Child = Node | string | number | null | undefined | false;
export type Attrs = Record<string, string | number | boolean | null | undefined>;

/** Properties set on the element rather than as attributes (their live value matters). */
const PROPERTIES = new Set(['value', 'checked']);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  children: Child | readonly Child[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (/^on/i.test(name) || name === 'style' || name === 'srcdoc') {
      throw new Error(`h(): the attribute "${name}" is not allowed; use addEventListener or CSS.`);
    }
    if (value === null || value === undefined || value === false) continue;
    if (PROPERTIES.has(name)) {
      (el as unknown as Record<string, unknown>)[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children as nodes; strings and numbers become text nodes. */
export function append(parent: Node, children: Child | readonly Child[]): void {
  const list = Array.isArray(children) ? children : [children];
  for (const child of list as readonly Child[]) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(
      typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child))
        : child,
    );
  }
}

/** Replaces every child of `parent` (text stays text). */
export function replaceChildren(parent: Element, children: Child | readonly Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

export function setText(el: Element, text: string): void {
  el.textContent = text;
}

let counter = 0;
/** A document-unique id for `<label for>` / `aria-describedby` pairs. */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** addEventListener with the element's own event map. */
export function on<E extends HTMLElement, K extends keyof HTMLElementEventMap>(
  el: E,
  type: K,
  listener: (event: HTMLElementEventMap[K]) => void,
): E {
  el.addEventListener(type, listener);
  return el;
}

/** A button: `type="button"` unless told otherwise, with its click handler. */
export function button(
  label: string,
  onClick: (event: MouseEvent) => void,
  attrs: Attrs = {},
): HTMLButtonElement {
  return on(h('button', { type: 'button', ...attrs }, label), 'click', onClick);
}
