import { ResultsTable, TrendChart, type ResultsByTest } from '@medkey/fhir-display';
import { usePatientApp } from '../usePatientApp.ts';

function Part({ title, part, empty }: { title: string; part: ResultsByTest; empty: string }) {
  const id = `results-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {part.trends.length === 0 && part.once.length === 0 && <p>{empty}</p>}
      {part.trends.map((trend) => (
        <TrendChart key={trend.key} trend={trend} />
      ))}
      <ResultsTable lines={part.once} dated caption="Measured once" />
    </section>
  );
}

/** Her lab results and vital signs by test: a chart over time for each measured more than once. */
export function ResultsScreen() {
  const [state] = usePatientApp();
  return (
    <section aria-labelledby="results-title">
      <h1 id="results-title">Results</h1>
      <p>Each test measured more than once is shown over time, with its normal range where the lab gave one.</p>
      <Part title="Lab results" part={state.results.lab} empty="No lab results among your records yet." />
      <Part title="Vitals" part={state.results.vital} empty="No vital signs among your records yet." />
    </section>
  );
}
