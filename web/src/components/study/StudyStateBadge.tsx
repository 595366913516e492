import { StudyState } from "../../gen/simlab/v1/simulation_pb";

const LOOK: Record<StudyState, [tone: string, label: string]> = {
  [StudyState.UNSPECIFIED]: ["neutral", "Unknown"],
  [StudyState.QUEUED]: ["neutral", "Queued"],
  [StudyState.RUNNING]: ["info", "Running"],
  [StudyState.SUCCEEDED]: ["ok", "Succeeded"],
  [StudyState.FAILED]: ["bad", "Failed"],
  [StudyState.CANCELLED]: ["muted", "Cancelled"],
};

export function studyStateLabel(state: StudyState): string {
  return LOOK[state]?.[1] ?? "Unknown";
}

export function StudyStateBadge({ state, testId }: { state: StudyState; testId?: string }) {
  const [tone, label] = LOOK[state] ?? LOOK[StudyState.UNSPECIFIED];
  return (
    <span className={`badge badge-${tone}`} data-state={StudyState[state]} data-testid={testId}>
      {state === StudyState.RUNNING ? <span className="pulse" aria-hidden="true" /> : <span className="dot" aria-hidden="true" />}
      {label}
    </span>
  );
}
