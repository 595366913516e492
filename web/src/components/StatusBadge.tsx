import { JobState } from "../gen/simlab/v1/simulation_pb";
import { stateLabel } from "../lib/format";

const TONE: Record<JobState, string> = {
  [JobState.UNSPECIFIED]: "neutral",
  [JobState.QUEUED]: "neutral",
  [JobState.LAUNCHING]: "info",
  [JobState.RUNNING]: "info",
  [JobState.CANCELLING]: "warn",
  [JobState.SUCCEEDED]: "ok",
  [JobState.FAILED]: "bad",
  [JobState.CANCELLED]: "muted",
};

export function StatusBadge({ state, live = false }: { state: JobState; live?: boolean }) {
  const active = state === JobState.RUNNING || state === JobState.LAUNCHING || state === JobState.CANCELLING;
  return (
    <span className={`badge badge-${TONE[state]}`} data-state={JobState[state]} title={live ? "Updates live" : undefined}>
      {active ? <span className="pulse" aria-hidden="true" /> : <span className="dot" aria-hidden="true" />}
      {stateLabel(state)}
    </span>
  );
}
