import { useAtomValue, useSetAtom } from "jotai";
import { useState } from "react";
import type { Model } from "../../gen/simlab/v1/simulation_pb";
import { modelCodeUrl } from "../../api/client";
import { toApiError } from "../../api/errors";
import { formatBytes, formatTime } from "../../lib/format";
import { kindLabel, modelRef, ownerLabel } from "../../lib/models";
import { modelsLoadableAtom, modelVersionsAtom, reloadModelsAtom } from "../../state/models";
import { Link } from "../Link";
import { Sha } from "../Sha";
import { EmptyState, ErrorState, Spinner } from "../States";
import { SchemaTables } from "./SchemaTables";

/** Newest pushed models first, then the built-ins by name. */
export function listOrder(models: readonly Model[]): Model[] {
  const created = (m: Model) => Number(m.createdAt?.seconds ?? 0n);
  return [...models].sort((a, b) =>
    a.builtin !== b.builtin ? (a.builtin ? 1 : -1) : a.builtin ? a.name.localeCompare(b.name) : created(b) - created(a) || a.name.localeCompare(b.name),
  );
}

function runPath(model: Model): string {
  return `/new?model=${encodeURIComponent(modelRef(model))}`;
}

/** The models the caller can see, each expandable to its versions. */
export function ModelList() {
  const models = useAtomValue(modelsLoadableAtom);
  const reload = useSetAtom(reloadModelsAtom);
  if (models.state === "loading") return <Spinner label="Loading models" />;
  if (models.state === "hasError") return <ErrorState title="Could not load the models" error={toApiError(models.error)} onRetry={reload} />;
  if (models.data.length === 0) return <EmptyState title="No models yet">Push a .py file above to register your first model.</EmptyState>;
  return (
    <div className="card table-card">
      <table className="table models" data-testid="models-table">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Latest</th>
            <th scope="col">Kind</th>
            <th scope="col">Owner</th>
            <th scope="col">Visibility</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {listOrder(models.data).map((m) => (
            <ModelRow key={m.name} model={m} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ModelRow({ model: m }: { model: Model }) {
  const [open, setOpen] = useState(false);
  const versionsId = `versions-${m.name}`;
  return (
    <>
      <tr data-testid={`model-row-${m.name}`} data-model-row={m.name}>
        <td>
          <button type="button" className="disclosure" aria-expanded={open} aria-controls={versionsId} onClick={() => setOpen((o) => !o)} data-testid={`model-toggle-${m.name}`}>
            <span className="chevron" aria-hidden="true" />
            <span className="mono model-row-name">{m.name}</span>
          </button>
          {m.title && m.title !== m.name ? <div className="muted model-row-title">{m.title}</div> : null}
        </td>
        <td className="mono" data-testid="model-latest">
          v{m.version}
        </td>
        <td>{kindLabel(m.kind)}</td>
        <td>{m.builtin ? <span className="badge badge-neutral">built-in</span> : ownerLabel(m)}</td>
        <td>{m.builtin || m.public ? <span className="badge badge-info">Public</span> : <span className="badge badge-muted">Private</span>}</td>
        <td className="nowrap">{formatTime(m.createdAt)}</td>
        <td className="num">
          <Link className="btn btn-secondary btn-sm" to={runPath(m)} data-testid={`model-run-${m.name}`}>
            Run
          </Link>
        </td>
      </tr>
      {open ? (
        <tr className="versions-row" id={versionsId}>
          <td colSpan={7}>
            <ModelVersions name={m.name} />
          </td>
        </tr>
      ) : null}
    </>
  );
}

function ModelVersions({ name }: { name: string }) {
  const versions = useAtomValue(modelVersionsAtom(name));
  if (versions === null) return <Spinner label="Loading versions" />;
  if (!versions.ok) return <ErrorState title="Could not load the versions" error={versions.error} />;
  return (
    <div className="versions" data-testid={`versions-${name}`}>
      {versions.value.map((v, i) => (
        <VersionCard key={v.version} model={v} latest={i === 0} />
      ))}
    </div>
  );
}

function VersionCard({ model: v, latest }: { model: Model; latest: boolean }) {
  const ref = modelRef(v);
  return (
    <article className="version" data-testid={`version-${ref}`} aria-label={ref}>
      <header className="version-head">
        <strong className="mono">{ref}</strong>
        {latest ? <span className="badge badge-ok">latest</span> : null}
        <span className="muted">{formatTime(v.createdAt)}</span>
        <span className="version-actions">
          {v.version > 0 ? (
            <a className="btn btn-ghost btn-sm" href={modelCodeUrl(v.name, v.version)} download data-testid={`download-code-${ref}`}>
              Download code
            </a>
          ) : null}
          <Link className="btn btn-secondary btn-sm" to={runPath(v)} data-testid={`run-${ref}`}>
            Run
          </Link>
        </span>
      </header>
      <dl className="facts">
        <dt>sha256</dt>
        <dd>
          <Sha sha={v.codeSha256} testId={`sha-${ref}`} />
          {v.codeSize > 0n ? <span className="muted"> · {formatBytes(v.codeSize)}</span> : null}
        </dd>
        <dt>Files</dt>
        <dd className="mono">
          {v.files.length
            ? v.files.map((f) => (
                <span key={f} className="file-chip" title={f === v.entry ? "entry" : undefined}>
                  {f}
                  {f === v.entry ? <span className="tag">entry</span> : null}
                </span>
              ))
            : "—"}
        </dd>
        <dt>Imports</dt>
        <dd className="mono">{v.imports.length ? v.imports.join(", ") : "—"}</dd>
        <dt>Runtime</dt>
        <dd>{v.runtime || "—"}</dd>
        <dt>Reproducible</dt>
        <dd>{v.reproducible ? "yes: same seed, same result" : "not checked or not deterministic"}</dd>
        {v.warnings.length ? (
          <>
            <dt>Warnings</dt>
            <dd>
              <ul className="warnings">
                {v.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
      </dl>
      <details className="version-schema">
        <summary>Schema</summary>
        <SchemaTables model={v} />
      </details>
    </article>
  );
}
