// The page's side of `planWorker.ts`: one worker per file, ended when it answers.

import type { PlanMessage } from './planWorker.ts';
import type { PlannedRecord } from './importFile.ts';

/** Plans `file` in a worker; `progress` hears what it is doing. Refused files reject with the reason. */
export function planInWorker(
  file: File,
  progress: (words: string) => void,
): Promise<{ planned: PlannedRecord[]; keys: string[] }> {
  const worker = new Worker(new URL('./planWorker.ts', import.meta.url), { type: 'module', name: 'plan' });
  return new Promise<{ planned: PlannedRecord[]; keys: string[] }>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<PlanMessage>) => {
      const message = event.data;
      if (message.kind === 'progress') return progress(message.words);
      worker.terminate();
      if (message.kind === 'planned') resolve({ planned: message.planned, keys: message.keys });
      else reject(new Error(message.message));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(`${file.name} could not be read here (${event.message || 'the reader stopped'}). Try again.`));
    };
    worker.postMessage(file);
  });
}
