import { useAtomValue } from "jotai";
import { studyInfoAtom } from "../../state/study";
import { shortId } from "../../lib/format";
import { studyPath } from "../../lib/share";
import { Link } from "../Link";

/** "Point 3 of study Smile", linking back to the study: on the run page of a study's point.
 * A view that may not read the study (a link to this run alone) names it without a link. */
export function StudyPointLine({ studyId, index, shareToken }: { studyId: string; index: number; shareToken: string | undefined }) {
  const info = useAtomValue(studyInfoAtom(studyId));
  const title = info?.ok ? info.value.title || `Study ${shortId(studyId)}` : shortId(studyId);
  return (
    <div className="head-study" data-testid="study-point">
      Point {index} of study{" "}
      {info?.ok === false && shareToken !== undefined ? (
        <span className="mono">{title}</span>
      ) : (
        <Link to={studyPath(studyId, shareToken)} data-testid="study-point-link">
          {title}
        </Link>
      )}
    </div>
  );
}
