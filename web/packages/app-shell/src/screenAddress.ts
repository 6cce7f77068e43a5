// Every screen of every app has an address (`#/records`, `#/record/<id>`, `#/patient/0x…`), so
// Back and Forward move between screens and a reload comes back to the same one once the person
// has signed in again. The History API is the standard for this and each app has a handful of
// screens and no nested routes, so no router library: this file only turns a screen into a
// fragment and back, and keeps the address in step with the screen on show.

/** A screen, and what it shows when it shows one thing (a record, a patient). */
export interface Place<S extends string> {
  screen: S;
  selected?: string | undefined;
}

/** The fragment naming `place`. */
export function addressOf<S extends string>(place: Place<S>): string {
  return place.selected ? `#/${place.screen}/${place.selected}` : `#/${place.screen}`;
}

/**
 * The place a fragment names among `screens`, if it names one. A screen in `selectable` must name
 * what it shows, in that form; the others name nothing more. Anything else names no place.
 */
export function placeAt<S extends string>(
  hash: string,
  screens: readonly S[],
  selectable: Partial<Record<S, RegExp>> = {},
): Place<S> | undefined {
  const [name, selected, ...rest] = hash.replace(/^#\/?/, '').split('/');
  const screen = screens.find((s) => s === name);
  if (!screen || rest.length > 0) return undefined;
  const form = selectable[screen];
  if (form) return selected && form.test(selected) ? { screen, selected } : undefined;
  return selected ? undefined : { screen };
}

/** A new history entry naming `place`, unless the address names it already. */
export function keepAddress<S extends string>(place: Place<S>): void {
  if (typeof window === 'undefined') return;
  const url = addressOf(place);
  if (window.location.hash !== url) window.history.pushState(null, '', url);
}

/** The place the page's address names now (a reload, a bookmark, Back or Forward). */
export function placeNow<S extends string>(
  screens: readonly S[],
  selectable: Partial<Record<S, RegExp>> = {},
): Place<S> | undefined {
  return typeof window === 'undefined' ? undefined : placeAt(window.location.hash, screens, selectable);
}
