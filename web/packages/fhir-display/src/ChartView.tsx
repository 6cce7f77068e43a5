// A chart as a clinician reads it: the summary first (allergies, problems, medicines, recent
// results with flags, latest vital signs), then every record by kind with its clinical date and
// value; a record's full view opens in place. Each section sits in its own error boundary, so
// one malformed record never blanks the chart.
import { UnstyledButton } from '@mantine/core';
import { useState, type ReactNode } from 'react';
import { rowValue } from './clinical.ts';
import type { Chart, ChartLine } from './chart.ts';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { UNSHOWABLE, dateOf, formatDate, titleOf, type Resource } from './fhir.ts';
import { isFlagged } from './interpretation.ts';
import { ResourceView, UnshowableRecord } from './ResourceView.tsx';
import { ResultsTable } from './ResultsTable.tsx';
import { TrendChart } from './TrendChart.tsx';
import { useFirst } from './useFirst.tsx';

function Part({ title, empty, children }: { title: string; empty: string; children: ReactNode[] }) {
  return (
    <section className="chart-part" aria-label={title}>
      <h3>{title}</h3>
      <ErrorBoundary fallback={<p role="alert">{UNSHOWABLE}</p>} resetKey={children.length}>
        {children.length === 0 ? <p className="hint">{empty}</p> : <ul>{children}</ul>}
      </ErrorBoundary>
    </section>
  );
}

const item = (line: ChartLine, i: number) => (
  <li key={i}>
    <strong>{line.title}</strong>
    {line.detail ? ` — ${line.detail}` : ''}
    {line.date ? <span className="hint"> · {formatDate(line.date)}</span> : null}
  </li>
);

/** One record in a group: its date, title and value; its full view when opened. */
function ChartRecord({ resource, chart }: { resource: Resource; chart: Chart }) {
  const [open, setOpen] = useState(false);
  const date = dateOf(resource);
  const title = titleOf(resource, chart.index);
  const value = rowValue(resource, chart.index);
  return (
    <li>
      <UnstyledButton type="button" className="record-link" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span className="record-date">{date ? formatDate(date) : 'Undated'}</span>
        <span className="record-title">
          {title}
          {value && <span className="record-value"> {value}</span>}
        </span>
      </UnstyledButton>
      {open && <ResourceView resource={resource} index={chart.index} />}
    </li>
  );
}

/** Records of one kind listed before "Show all": the newest. */
const FIRST_OF_KIND = 25;

/** One kind of record, newest first: the first ones, then the rest on request. */
function Group({ kind, records, chart }: { kind: string; records: Resource[]; chart: Chart }) {
  const { shown, more } = useFirst(records, FIRST_OF_KIND, `${kind.toLowerCase()} records`);
  return (
    <section aria-label={kind}>
      <h4>
        {kind} ({records.length})
      </h4>
      <ol className="timeline">
        {shown.map((resource, i) => (
          <ErrorBoundary key={i} fallback={<li role="alert">{UNSHOWABLE}</li>} resetKey={resource}>
            <ChartRecord resource={resource} chart={chart} />
          </ErrorBoundary>
        ))}
      </ol>
      {more}
    </section>
  );
}

export function ChartView({ chart }: { chart: Chart }) {
  const flagged = chart.results.filter((r) => isFlagged(r.flag)).length;
  return (
    <div className="chart">
      <div className="chart-summary">
        <Part title="Allergies" empty="No allergies among the records shared with you.">
          {chart.allergies.map(item)}
        </Part>
        <Part title="Problems" empty="No active problems among the records shared with you.">
          {chart.problems.map(item)}
        </Part>
        <Part title="Medicines" empty="No current medicines among the records shared with you.">
          {chart.medications.map(item)}
        </Part>
      </div>
      <ErrorBoundary fallback={<UnshowableRecord />} resetKey={chart}>
        {chart.results.length > 0 && (
          <ResultsTable
            lines={chart.results}
            dated
            caption={`Recent results${flagged > 0 ? ` (${flagged} flagged)` : ''}`}
          />
        )}
        {chart.vitals.length > 0 && (
          <ResultsTable
            lines={chart.vitals.map((v) => ({
              ...v,
              name: `${v.name} (${v.readings} reading${v.readings === 1 ? '' : 's'})`,
            }))}
            dated
            caption="Vital signs, latest reading"
          />
        )}
        {chart.trends.length > 0 && (
          <section aria-label="Trends">
            <h3>Trends</h3>
            {chart.trends.map((trend) => (
              <TrendChart key={trend.key} trend={trend} />
            ))}
          </section>
        )}
      </ErrorBoundary>
      <h3>All records by kind</h3>
      {chart.groups.map((group) => (
        <Group key={group.kind} kind={group.kind} records={group.records} chart={chart} />
      ))}
    </div>
  );
}
