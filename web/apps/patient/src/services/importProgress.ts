// An import under way, as the browser should treat it: leaving the page asks first, and if the
// page goes anyway (a reload, a crash) the next sign-in says how far it got. Only counts are
// kept (in sessionStorage, this tab only): nothing of a record, nor the file's name.

const KEY = 'medkey.import-progress';

export interface ImportProgress {
  start(total: number): void;
  stored(done: number): void;
  finish(): void;
}

const warn = (event: BeforeUnloadEvent) => {
  event.preventDefault();
  // Older browsers show the page's words; newer ones their own.
  event.returnValue = 'Your records are still being stored. Leave anyway?';
};

/** Marks an import under way in this tab; a no-op outside a browser. */
export function importProgress(storage: Storage | undefined = globalThis.sessionStorage): ImportProgress {
  let total = 0;
  const write = (done: number) => storage?.setItem(KEY, JSON.stringify({ done, total }));
  return {
    start(count) {
      total = count;
      write(0);
      globalThis.addEventListener?.('beforeunload', warn);
    },
    stored: write,
    finish() {
      storage?.removeItem(KEY);
      globalThis.removeEventListener?.('beforeunload', warn);
    },
  };
}

/** An import that stopped with the page (read once: the mark is cleared), in words. */
export function interruptedImport(storage: Storage | undefined = globalThis.sessionStorage): string | undefined {
  const text = storage?.getItem(KEY);
  if (!text) return undefined;
  storage?.removeItem(KEY);
  try {
    const { done, total } = JSON.parse(text) as { done: unknown; total: unknown };
    if (typeof done !== 'number' || typeof total !== 'number') return undefined;
    return `Your last import stopped when the page was left: ${done} of ${total} records were stored. Add the file again to store the rest; what is stored already is skipped.`;
  } catch {
    return undefined;
  }
}
