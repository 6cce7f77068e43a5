// How many category choices a file leaves to her, before and after the file's own links decide
// them (`fileCategories`): the figure #30 asks for. Before = each record on its own codes (what
// the app did until 2026-12); after = what the plan screen now asks.
//
//   npx tsx bench/categoryChoices.ts <file or directory>...
//
// Reads FHIR JSON, NDJSON and C-CDA exactly as the app does (`readRecordsFile`); a file the app
// would refuse is listed as refused, with the reason.

import { inferCategory } from '@medkey/client';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { planAll, readRecordsFile } from '../src/services/importFile.ts';

// Medplum's converter touches WebSocket when it loads; Node 20 has none.
(globalThis as { WebSocket?: unknown }).WebSocket ??= class {};

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => /\.(json|ndjson|xml)$/.test(name))
    .map((name) => join(path, name));
}

const totals = { files: 0, records: 0, before: 0, after: 0, notesBefore: 0, notesAfter: 0, refused: 0 };
const rows: string[] = [];
for (const path of process.argv.slice(2).flatMap(files)) {
  const file = new File([readFileSync(path)], basename(path), { type: path.endsWith('.xml') ? 'text/xml' : '' });
  try {
    const entries = await readRecordsFile(file);
    const before = entries.map((e) => e.category ?? inferCategory(e.resource));
    const after = planAll(entries);
    const row = {
      records: entries.length,
      before: before.filter((c) => !c).length,
      after: after.filter((p) => !p.category).length,
      notesBefore: before.filter((c) => c === 'clinical_notes').length,
      notesAfter: after.filter((p) => p.category === 'clinical_notes').length,
    };
    totals.files += 1;
    for (const key of Object.keys(row) as (keyof typeof row)[]) totals[key] += row[key];
    if (row.before > 0 || row.after > 0 || row.notesBefore !== row.notesAfter || entries.length > 20)
      rows.push(
        `| ${basename(path)} | ${row.records} | ${row.before} | ${row.after} | ${row.notesBefore} → ${row.notesAfter} |`,
      );
  } catch (err) {
    totals.refused += 1;
    rows.push(`| ${basename(path)} | refused: ${err instanceof Error ? err.message.slice(0, 80) : err} | | | |`);
  }
}
console.log('| file | records | choices before | choices after | clinical notes before → after |');
console.log('|---|---|---|---|---|');
for (const row of rows) console.log(row);
console.log(
  `| **${totals.files} files (${totals.refused} refused)** | ${totals.records} | ${totals.before} | ${totals.after} | ${totals.notesBefore} → ${totals.notesAfter} |`,
);
