import { useAtomValue } from "jotai";
import { jobCodeUrl } from "../../api/client";
import { jobModelRef, kindLabel, ownerLabel } from "../../lib/models";
import { runJobAtom, runModelAtom, runShareTokenAtom } from "../../state/run";
import { Sha } from "../Sha";

/** The code the run ran: which model version, whose, its sha256, runtime and a download. */
export function CodeCard() {
  const job = useAtomValue(runJobAtom);
  const model = useAtomValue(runModelAtom);
  const shareToken = useAtomValue(runShareTokenAtom);
  if (!job) return null;
  const ref = jobModelRef(job);
  return (
    <div className="card" data-testid="code-card">
      <h2>Code</h2>
      <table className="table kv">
        <tbody>
          <tr>
            <th scope="row">Model</th>
            <td className="mono" data-testid="run-model-ref">
              {ref}
            </td>
          </tr>
          {model ? (
            <>
              <tr>
                <th scope="row">Owner</th>
                <td data-testid="run-model-owner">{ownerLabel(model)}</td>
              </tr>
              <tr>
                <th scope="row">Kind</th>
                <td>{kindLabel(model.kind)}</td>
              </tr>
            </>
          ) : null}
          <tr>
            <th scope="row">sha256</th>
            <td>
              <Sha sha={job.codeSha256} testId="run-code-sha" />
            </td>
          </tr>
          {job.runtime ? (
            <tr>
              <th scope="row">Runtime</th>
              <td>{job.runtime}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {job.codeSha256 ? (
        <a className="btn btn-secondary btn-sm" href={jobCodeUrl(job.jobId, shareToken)} download data-testid="download-code">
          Download code
        </a>
      ) : null}
    </div>
  );
}
