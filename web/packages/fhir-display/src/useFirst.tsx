// A long list shown by its first rows, with one button for the rest: a chart of 1,000 records
// (or a test read 300 times) stays quick to open, and everything is one click away.
import { Button } from '@mantine/core';
import { useState, type ReactNode } from 'react';

/** The first `count` of `items` (all of them once asked), and the button that asks, if any are hidden. */
export function useFirst<T>(
  items: readonly T[],
  count: number,
  noun: string,
): { shown: readonly T[]; more: ReactNode } {
  const [all, setAll] = useState(false);
  if (all || items.length <= count) return { shown: items, more: null };
  return {
    shown: items.slice(0, count),
    more: (
      <Button type="button" variant="default" className="show-all" onClick={() => setAll(true)}>
        Show all {items.length} {noun}
      </Button>
    ),
  };
}
