import type { Category } from '@medkey/client';
import { titleOf, typeName } from '@medkey/fhir-display';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, useState } from 'react';
import { Button, Group, NativeSelect } from '@mantine/core';
import { formatSize } from '../services/formatSize.ts';
import { LARGE_PLAN, needingAttention, planSummary } from '../services/planSummary.ts';
import { CATEGORIES, CATEGORY_LABELS } from '../services/patient.ts';
import { usePatientApp } from '../usePatientApp.ts';

/** A category select's choices: none chosen yet, then every category. */
function CategoryOptions() {
  return (
    <>
      <option value="" disabled>
        Choose a category
      </option>
      {CATEGORIES.map((c) => (
        <option key={c} value={c}>
          {CATEGORY_LABELS[c]}
        </option>
      ))}
    </>
  );
}

/** One control for every record still waiting for her choice ("set all like this"). */
function SetAllUndecided({ count }: { count: number }) {
  const [, app] = usePatientApp();
  const [category, setCategory] = useState<Category | ''>('');
  return (
    <Group role="group" aria-label="Choose for all that need a choice" align="flex-end" gap="sm" my="sm">
      <NativeSelect
        label={`Put all ${count} in`}
        value={category}
        onChange={(e) => setCategory(e.currentTarget.value as Category)}
      >
        <CategoryOptions />
      </NativeSelect>
      <Button
        type="button"
        disabled={!category}
        onClick={() => category && app.records.setUndecidedCategories(category)}
      >
        Apply to all {count}
      </Button>
    </Group>
  );
}

/** One planned record: what it is, why it was placed or left out, and its category (hers to change). */
function PlanRow({ index }: { index: number }) {
  const [state, app] = usePatientApp();
  const plan = state.planned[index]!;
  return (
    <tr className={plan.skip ? 'left-out' : plan.sensitive ? 'sensitive' : undefined}>
      <td>
        {titleOf(plan.resource)} <span className="hint">({typeName(plan.resource.resourceType)})</span>
        {plan.skip && (
          <p className="warning">
            Left out: {plan.invalid ? `not valid FHIR R4 (${plan.invalid})` : 'stored already'}.
          </p>
        )}
        {plan.replaces && (
          <p className="hint">Changed at your provider since you stored it: kept as its new version.</p>
        )}
        {plan.attachment && (
          <p className="hint">
            With an attached file: {plan.attachment.title} ({formatSize(plan.attachment.file.size)})
          </p>
        )}
        {plan.reason && <p className="hint">{plan.category ? `With ${plan.reason}.` : plan.reason}</p>}
        {plan.sensitive && (
          <p className="warning">
            Sensitive{plan.because ? ` (recognised by ${plan.because})` : ''}: never shared unless you choose this
            category by name.
          </p>
        )}
      </td>
      <td>
        <NativeSelect
          aria-label={`Category of ${titleOf(plan.resource)}`}
          value={plan.category ?? ''}
          // A new version stays in its record's category (the record's encryption is bound to it).
          disabled={Boolean(plan.replaces)}
          onChange={(e) => app.records.setPlannedCategory(index, e.currentTarget.value as Category)}
        >
          <CategoryOptions />
        </NativeSelect>
      </td>
    </tr>
  );
}

/** Every record of a long plan, on demand: only the rows in view are in the page. */
function AllRecords() {
  const [state] = usePatientApp();
  const box = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({
    count: state.planned.length,
    getScrollElement: () => box.current,
    estimateSize: () => 28,
    overscan: 20,
  });
  return (
    <div ref={box} className="virtual-list" role="list" aria-label="Every record in the file">
      <div style={{ height: rows.getTotalSize() }} className="virtual-space">
        {rows.getVirtualItems().map((row) => {
          const plan = state.planned[row.index]!;
          return (
            <div
              key={row.key}
              role="listitem"
              className="virtual-row"
              style={{ transform: `translateY(${row.start}px)` }}
            >
              {titleOf(plan.resource)} <span className="hint">({typeName(plan.resource.resourceType)})</span> ·{' '}
              {plan.skip ? 'left out' : plan.category ? CATEGORY_LABELS[plan.category] : 'needs a category'}
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** A long plan by kind of record: how many, and where they go. */
function ByType({ summary }: { summary: ReturnType<typeof planSummary> }) {
  return (
    <table className="plan-summary">
      <caption>What the file holds</caption>
      <thead>
        <tr>
          <th scope="col">Kind of record</th>
          <th scope="col">How many</th>
          <th scope="col">Filed under</th>
        </tr>
      </thead>
      <tbody>
        {summary.byType.map((t) => (
          <tr key={t.type}>
            <th scope="row">{typeName(t.type)}</th>
            <td>{t.count.toLocaleString()}</td>
            <td>{t.categories.map((c) => CATEGORY_LABELS[c]).join(', ') || 'needs a category'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What a file would add: counts per category, what still needs her choice and why, then each record. */
export function PlanReview() {
  const [state, app] = usePatientApp();
  const summary = planSummary(state.planned);
  const large = state.planned.length > LARGE_PLAN;
  // A long plan lists only what needs her eye (at most LARGE_PLAN); the rest on demand.
  const attention = large ? needingAttention(state.planned) : [];
  const rows = large ? attention.slice(0, LARGE_PLAN) : state.planned.map((_, i) => i);
  return (
    <>
      <h2>What will be stored</h2>
      <p>
        {summary.total} record{summary.total === 1 ? '' : 's'}:{' '}
        {summary.byCategory.map(({ category, count }) => `${CATEGORY_LABELS[category]} ${count}`).join(', ')}
        {summary.undecided > 0 ? `; ${summary.undecided} need your choice` : ''}.
        {summary.byFile > 0 &&
          ` Medkey put ${summary.byFile} with the records they belong to (a test's results with its report, a doctor or clinic with the records that name them).`}
      </p>
      {summary.invalid > 0 && (
        <p className="warning" role="status">
          {summary.invalid === 1 ? 'One record is' : `${summary.invalid} records are`} not valid FHIR R4 and will be
          left out ({summary.firstInvalid}): another system may not read {summary.invalid === 1 ? 'it' : 'them'}.{' '}
          <Button type="button" variant="default" onClick={() => app.records.keepIn('invalid')}>
            Store {summary.invalid === 1 ? 'it' : 'them'} as {summary.invalid === 1 ? 'it is' : 'they are'}
          </Button>
        </p>
      )}
      {summary.stored > 0 && (
        <p className="hint" role="status">
          {summary.stored === 1 ? 'One record is' : `${summary.stored} records are`} stored already, with the same
          content, and will be skipped.{' '}
          <Button type="button" variant="default" onClick={() => app.records.keepIn('stored')}>
            Store {summary.stored === 1 ? 'it' : 'them'} again
          </Button>
        </p>
      )}
      {summary.undecided > 0 && (
        <>
          <p className="warning">
            {summary.undecided === 1 ? 'One record needs' : `${summary.undecided} records need`} a category: it decides
            who you share {summary.undecided === 1 ? 'it' : 'them'} with.
          </p>
          <SetAllUndecided count={summary.undecided} />
        </>
      )}
      {large && <ByType summary={summary} />}
      {large && attention.length > 0 && (
        <p>
          {attention.length > LARGE_PLAN
            ? `The first ${LARGE_PLAN} of ${attention.length.toLocaleString()} records that need a look:`
            : 'The records that need a look:'}
        </p>
      )}
      {rows.length > 0 && (
        <table className="plan-table">
          <thead>
            <tr>
              <th scope="col">Record</th>
              <th scope="col">Category</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i) => (
              <PlanRow key={i} index={i} />
            ))}
          </tbody>
        </table>
      )}
      {large && (
        <details>
          <summary>See all {state.planned.length.toLocaleString()} records</summary>
          <AllRecords />
        </details>
      )}
      <Button
        type="button"
        my="sm"
        onClick={() => void app.records.storePlanned()}
        disabled={Boolean(state.busy) || summary.total === 0}
      >
        Encrypt and store {summary.total.toLocaleString()} record{summary.total === 1 ? '' : 's'}
      </Button>
    </>
  );
}
