import { useAtomValue } from "jotai";
import { JobState } from "../../gen/simlab/v1/simulation_pb";
import { fileUrl } from "../../api/client";
import { artifactsAtom } from "../../state/results";
import { runJobAtom, runShareTokenAtom } from "../../state/run";
import { formatBytes } from "../../lib/format";
import { Spinner } from "../States";

/** The files a finished run left, as download links. */
export function DownloadsCard() {
  const job = useAtomValue(runJobAtom);
  const shareToken = useAtomValue(runShareTokenAtom);
  const artifacts = useAtomValue(artifactsAtom(job ? `${job.jobId}@${JobState[job.state]}` : ""));
  if (!job) return null;
  return (
    <div className="card">
      <div className="card-head">
        <h2>Files</h2>
      </div>
      {artifacts === null ? (
        <Spinner label="Loading files" />
      ) : !artifacts.ok ? (
        <p className="muted">Files unavailable: {artifacts.error.message}</p>
      ) : artifacts.value.length === 0 ? (
        <p className="muted">This run left no files.</p>
      ) : (
        <ul className="files" data-testid="downloads">
          {artifacts.value.map((a) => (
            <li key={a.name}>
              <a href={fileUrl(job.jobId, a.name, false, shareToken)} download={a.name} data-testid={`download-${a.name}`}>
                <FileIcon name={a.name} />
                <span className="file-name">{a.name}</span>
              </a>
              <span className="muted">{formatBytes(a.size)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function FileIcon({ name }: { name: string }) {
  const ext = name.split(".").pop()?.toUpperCase() ?? "";
  return <span className={`file-ext ext-${ext.toLowerCase()}`}>{ext.slice(0, 4)}</span>;
}
