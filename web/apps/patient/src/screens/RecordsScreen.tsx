import { ErrorBoundary, formatDate, typeName, UNSHOWABLE } from '@medkey/fhir-display';
import type { Category } from '@medkey/client';
import { CATEGORIES, CATEGORY_LABELS } from '../services/patient.ts';
import {
  addedOn,
  attachedFile,
  datedAndUndated,
  filterRecords,
  recordTypes,
  type RecordItem,
} from '../services/timeline.ts';
import { saveFile } from '../services/saveFile.ts';
import { shortName } from './ProviderName.tsx';
import { usePatientApp } from '../usePatientApp.ts';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useLayoutEffect, useReducer, useRef } from 'react';
import { Button, Group, NativeSelect, TextInput, UnstyledButton } from '@mantine/core';

/** A row that failed to render: it says so and still opens, to read its JSON or erase it. */
function UnshowableRow({ recordId }: { recordId: string }) {
  const [, app] = usePatientApp();
  return (
    <UnstyledButton type="button" className="record-link" onClick={() => app.show('record', recordId)}>
      {UNSHOWABLE}
    </UnstyledButton>
  );
}

/** Where a row sits when the list is virtualised (see `TimelineList`). */
interface RowPlace {
  ref: (node: HTMLLIElement | null) => void;
  index: number;
  of: number;
  top: number;
}

/** One line of the timeline: when it happened (or that it is undated, and when it was added), what it is. */
function TimelineRow({ item, place }: { item: RecordItem; place?: RowPlace }) {
  const [{ names }, app] = usePatientApp();
  return (
    <li
      {...(place && {
        ref: place.ref,
        'data-index': place.index,
        'aria-posinset': place.index + 1,
        'aria-setsize': place.of,
        className: 'virtual-timeline-row',
        style: { transform: `translateY(${place.top}px)` },
      })}
    >
      <ErrorBoundary fallback={<UnshowableRow recordId={item.view.record_id} />} resetKey={item}>
        <UnstyledButton type="button" className="record-link" onClick={() => app.show('record', item.view.record_id)}>
          <span className="record-date">
            {item.date ? formatDate(item.date) : `Undated · added ${formatDate(addedOn(item))}`}
          </span>
          <span className="record-title">
            {item.title}
            {item.value && <span className="record-value"> {item.value}</span>}
            {attachedFile(item) && <span className="attachment-marker"> (with an attached file)</span>}
          </span>
          <span className="record-meta">
            {typeName(item.view.resource_type)} ·{' '}
            {CATEGORY_LABELS[item.view.category as keyof typeof CATEGORY_LABELS] ?? item.view.category}
            {item.view.created_by.toLowerCase() !== item.view.owner.toLowerCase() &&
              ` · added by ${shortName(item.view.created_by, names[item.view.created_by.toLowerCase()])}`}
          </span>
          {item.problem === UNSHOWABLE && <span className="record-problem"> {UNSHOWABLE}</span>}
        </UnstyledButton>
      </ErrorBoundary>
    </li>
  );
}

/** Longer lists render only the rows near the screen: opening a record then has little to take down. */
const VIRTUAL_FROM = 200;

/** A list of timeline rows, virtualised against the page's own scroll when it is long. */
function TimelineList({ items, label }: { items: RecordItem[]; label: string }) {
  if (items.length < VIRTUAL_FROM) {
    return (
      <ol className="timeline" aria-label={label}>
        {items.map((item) => (
          <TimelineRow key={item.view.record_id} item={item} />
        ))}
      </ol>
    );
  }
  return <VirtualTimeline items={items} label={label} />;
}

function VirtualTimeline({ items, label }: { items: RecordItem[]; label: string }) {
  const list = useRef<HTMLOListElement>(null);
  // The list's distance from the top of the page, for the window's scroll to place rows: read at
  // each render (every scroll renders, and what is above it may have grown), and once mounted.
  const [, remeasure] = useReducer((n: number) => n + 1, 0);
  useLayoutEffect(() => remeasure(), []);
  const margin = list.current ? Math.round(list.current.getBoundingClientRect().top + window.scrollY) : 0;
  const rows = useWindowVirtualizer({ count: items.length, estimateSize: () => 72, overscan: 8, scrollMargin: margin });
  return (
    <ol ref={list} className="timeline virtual-timeline" aria-label={label} style={{ height: rows.getTotalSize() }}>
      {rows.getVirtualItems().map((row) => {
        const item = items[row.index]!;
        const place = { ref: rows.measureElement, index: row.index, of: items.length, top: row.start - margin };
        return <TimelineRow key={item.view.record_id} item={item} place={place} />;
      })}
    </ol>
  );
}

export function RecordsScreen() {
  const [state, app] = usePatientApp();
  const shown = filterRecords(state.records, state.filter);
  const { dated, undated } = datedAndUndated(shown);
  return (
    <section aria-labelledby="records-title">
      <h1 id="records-title">Your records</h1>
      <Group gap="sm" my="sm">
        <Button type="button" onClick={() => app.show('add')}>
          Add records
        </Button>
        <Button
          type="button"
          variant="default"
          onClick={() =>
            void app.records
              .exportRecords()
              .then((blob) => blob && saveFile(blob, `medkey-records-${new Date().toISOString().slice(0, 10)}.json`))
          }
          disabled={state.records.length === 0 || Boolean(state.busy)}
        >
          Download all as a FHIR file
        </Button>
      </Group>
      {state.records.length === 0 && !state.busy && (
        <p>You have no records yet. Add a FHIR file exported from your patient portal.</p>
      )}
      {state.records.length > 0 && (
        <div className="filters">
          <TextInput
            id="search"
            label="Search"
            type="search"
            className="filter-search"
            value={state.filter.query}
            onChange={(e) => app.records.setFilter({ query: e.currentTarget.value })}
          />
          <NativeSelect
            id="category"
            label="Category"
            value={state.filter.category}
            onChange={(e) => app.records.setFilter({ category: e.currentTarget.value as Category | '' })}
          >
            <option value="">All categories</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {CATEGORY_LABELS[c]}
              </option>
            ))}
          </NativeSelect>
          <NativeSelect
            id="type"
            label="Type"
            value={state.filter.type}
            onChange={(e) => app.records.setFilter({ type: e.currentTarget.value })}
          >
            <option value="">All types</option>
            {recordTypes(state.records).map((t) => (
              <option key={t} value={t}>
                {typeName(t)}
              </option>
            ))}
          </NativeSelect>
          <TextInput
            id="from"
            label="From"
            type="date"
            value={state.filter.from}
            onChange={(e) => app.records.setFilter({ from: e.currentTarget.value })}
          />
          <TextInput
            id="to"
            label="To"
            type="date"
            value={state.filter.to}
            onChange={(e) => app.records.setFilter({ to: e.currentTarget.value })}
          />
        </div>
      )}
      {state.records.length > 0 && shown.length < state.records.length && (
        <p className="hint" role="status">
          Showing {shown.length} of {state.records.length} records.
        </p>
      )}
      <TimelineList items={dated} label="Your records, newest first" />
      {undated.length > 0 && (
        <section aria-labelledby="undated-title">
          <h2 id="undated-title">Undated</h2>
          <p className="hint">
            These records do not say when they happened (details about you, your care team, a medicine). They are listed
            by the day they were added.
          </p>
          <TimelineList items={undated} label="Undated records, newest added first" />
        </section>
      )}
    </section>
  );
}
