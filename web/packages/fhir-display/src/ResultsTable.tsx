// Results as a clinician reads them: test, value with unit, normal range, flag (in words, not
// only a colour or an arrow), and the date. Used for a report's results and a panel's parts.

import { formatDate } from './fhir.ts';
import { isFlagged } from './interpretation.ts';
import type { ResultLine } from './clinical.ts';

export function ResultsTable({ lines, caption, dated }: { lines: ResultLine[]; caption: string; dated?: boolean }) {
  if (lines.length === 0) return null;
  return (
    <table className="results">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Test</th>
          <th scope="col">Result</th>
          <th scope="col">Normal range</th>
          <th scope="col">Flag</th>
          {dated && <th scope="col">Date</th>}
        </tr>
      </thead>
      <tbody>
        {lines.map((line, i) => (
          <tr key={i} className={isFlagged(line.flag) ? `flagged ${line.flag!.level}` : undefined}>
            <th scope="row">{line.name}</th>
            <td>
              {line.value ?? '—'}
              {line.flag?.symbol ? ` ${line.flag.symbol}` : ''}
            </td>
            <td>{line.range ?? '—'}</td>
            <td>{line.flag?.words ?? '—'}</td>
            {dated && <td>{line.date ? formatDate(line.date) : 'Undated'}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
