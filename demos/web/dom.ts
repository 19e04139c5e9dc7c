// Small DOM helpers the page's views share: lookup by id, element construction, and a status line.

/** The element with this id (the page's HTML or a view's own markup declares it). */
export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

type Attrs = Record<string, string | number | boolean | undefined>;

/** An element with attributes ('testid' becomes data-testid) and children (strings become text). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'testid') e.dataset.testid = String(v);
    else if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** A labelled control, as the built-in demos' fieldsets lay them out. */
export const labelled = (text: string, control: HTMLElement): HTMLLabelElement => el('label', {}, text, ' ', control);

/**
 * The number in a form control, refused with a message naming the control when it is empty, not a number, out of
 * min..max, or (int) not a whole number: a view reads its settings through this before it takes the device.
 */
export function readNumber(input: HTMLInputElement, name: string, min: number, max: number, int = true): number {
  const v = Number(input.value);
  if (input.value.trim() === '' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    throw new Error(`${name} must be ${int ? 'a whole number' : 'a number'} in ${min}..${max}, got '${input.value}'`);
  }
  return v;
}
