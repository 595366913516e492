import { useAtomValue } from "jotai";
import { runJobAtom } from "../../state/run";
import { Timeline } from "../Timeline";

/** The states the run went through, and when. */
export function TimelineCard() {
  const history = useAtomValue(runJobAtom)?.history ?? [];
  return (
    <div className="card">
      <h2>Timeline</h2>
      <Timeline history={history} />
    </div>
  );
}
