/**
 * The display model both screens render: decode.ts's model of the request, with the pre-sign
 * review in front of it — the replaced transaction (speed up / cancel), the simulation's outcome,
 * the balance change, and the warnings of presign-warnings.ts before decode.ts's own.
 */
import type { DisplayField, DisplayModel } from './decode.ts';
import { balanceChanges } from './balance-change.ts';
import type { PresignFacts } from './presign-facts.ts';
import { presignWarnings } from './presign-warnings.ts';
import type { SigningRequest } from './signing-request.ts';

function simulationField(facts: PresignFacts): DisplayField | null {
  const { simulation, block } = facts;
  if (simulation === null) return null;
  const at = block === null ? '' : ` on block ${block}`;
  switch (simulation.outcome) {
    case 'success':
      return { label: 'Simulation', value: `succeeds${at}` };
    case 'revert':
      return { label: 'Simulation', value: `fails${at}: ${simulation.reason}`, warning: simulation.reason };
    case 'unavailable':
      return { label: 'Simulation', value: `could not run: ${simulation.reason}` };
  }
}

function title(display: DisplayModel, facts: PresignFacts | undefined): string {
  if (facts?.replaces?.action === 'speed-up') return `Speed up: ${display.title}`;
  if (facts?.replaces?.action === 'cancel') return 'Cancel a pending transaction';
  return display.title;
}

export function reviewedDisplay(display: DisplayModel, request: SigningRequest): DisplayModel {
  if (request.kind !== 'transaction') return { ...display, warnings: [...presignWarnings(request), ...display.warnings] };
  const facts = request.facts;
  const replaces: DisplayField[] = facts?.replaces ? [{ label: 'Replaces', value: `your pending transaction ${facts.replaces.hash} (nonce ${request.tx.nonce}); whichever is mined first, the other is dropped` }] : [];
  const simulation = facts ? simulationField(facts) : null;
  return {
    title: title(display, facts),
    fields: [...replaces, ...(simulation ? [simulation] : []), ...balanceChanges(request), ...display.fields],
    warnings: [...presignWarnings(request), ...display.warnings],
  };
}
