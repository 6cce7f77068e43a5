// Reading a file into a plan, off the page's thread: a portal's export of tens of thousands of
// records takes seconds to parse, categorise and validate, and the page must stay responsive
// meanwhile. The page hands over the File; this answers with progress, then the plan (each
// record checked as FHIR R4) and each record's content key, or the reason the file was refused.

import { planAll, readRecordsFile, type PlannedRecord } from './importFile.ts';
import { contentKey, validatePlan } from './planChecks.ts';

export type PlanMessage =
  | { kind: 'progress'; words: string }
  | { kind: 'planned'; planned: PlannedRecord[]; keys: string[] }
  | { kind: 'refused'; message: string };

const post = (message: PlanMessage) => self.postMessage(message);

self.onmessage = async (event: MessageEvent<File>) => {
  try {
    const planned = planAll(await readRecordsFile(event.data));
    post({ kind: 'progress', words: `Checking ${planned.length.toLocaleString('en-US')} records as FHIR R4…` });
    const valid = await validatePlan(planned);
    post({ kind: 'planned', planned: valid, keys: valid.map((p) => contentKey(p.resource)) });
  } catch (err) {
    post({ kind: 'refused', message: err instanceof Error ? err.message : String(err) });
  }
};
