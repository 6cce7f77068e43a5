// @vitest-environment jsdom
// A chart of hundreds of records opens with the newest of each kind and of each test's readings,
// and one button shows the rest: the page stays quick, nothing is out of reach.
import { act } from 'react';
import { createRoot } from 'react-dom/client';
import { MantineProvider } from '@mantine/core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ChartView } from '../src/ChartView.tsx';
import { chartOf } from '../src/chart.ts';
import { formatDate } from '../src/fhir.ts';
import type { Resource } from '../src/read.ts';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
// uPlot reads the screen's pixel ratio when it loads; jsdom has no canvas, so no plot is drawn
// once it has loaded (the chart component draws only where matchMedia exists): the tables are tested.
vi.hoisted(() => {
  window.matchMedia ??= (() => ({ matches: false, addEventListener() {}, removeEventListener() {} })) as never;
});
beforeAll(() => {
  Reflect.deleteProperty(window, 'matchMedia');
});

const glucose = (i: number): Resource => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }], text: 'Glucose' },
  effectiveDateTime: new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString(),
  valueQuantity: { value: 80 + (i % 40), unit: 'mg/dL' },
});

function render(resources: Resource[]) {
  const host = document.createElement('div');
  document.body.append(host);
  const root = createRoot(host);
  act(() =>
    root.render(
      <MantineProvider>
        <ChartView chart={chartOf(resources)} />
      </MantineProvider>,
    ),
  );
  return { host, unmount: () => act(() => root.unmount()) };
}

const button = (host: HTMLElement, text: string) =>
  [...host.querySelectorAll('button')].find((b) => b.textContent === text);

describe('a long chart', () => {
  it('lists the newest of each kind and of each test, and the rest on request', () => {
    const { host, unmount } = render(Array.from({ length: 300 }, (_, i) => glucose(i)));
    const group = host.querySelector('section[aria-label="Measurement or test result"]')!;
    expect(group.querySelectorAll('li')).toHaveLength(25);
    expect(group.querySelector('h4')!.textContent).toBe('Measurement or test result (300)');
    const readings = host.querySelector('figure[aria-label="Glucose over time"] tbody')!;
    expect(readings.querySelectorAll('tr')).toHaveLength(12);
    // The newest reading first.
    expect(readings.querySelector('td')!.textContent).toBe(
      formatDate(new Date(Date.UTC(2020, 0, 1) + 299 * 86_400_000)),
    );

    act(() => button(host, 'Show all 300 measurement or test result records')!.click());
    expect(group.querySelectorAll('li')).toHaveLength(300);
    act(() => button(host, 'Show all 300 readings')!.click());
    expect(readings.querySelectorAll('tr')).toHaveLength(300);
    expect(button(host, 'Show all 300 readings')).toBeUndefined();
    unmount();
  });

  it('shows a short list whole, with no button', () => {
    const { host, unmount } = render(Array.from({ length: 5 }, (_, i) => glucose(i)));
    expect(host.querySelectorAll('section[aria-label="Measurement or test result"] li')).toHaveLength(5);
    expect(host.querySelectorAll('button.show-all')).toHaveLength(0);
    unmount();
  });
});
