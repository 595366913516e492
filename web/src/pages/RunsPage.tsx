import { useAtomValue, useSetAtom } from "jotai";
import { useEffect, useMemo, useState } from "react";
import { JobState, type Job, type Model } from "../gen/simlab/v1/simulation_pb";
import { jobFeedAtom } from "../state/job";
import { modelsLoadableAtom } from "../state/models";
import { locationAtom } from "../state/router";
import {
  refreshRunsAtom,
  runsFiltersAtom,
  runsLoadingAtom,
  runsPageAtom,
  runsPagingAtom,
} from "../state/runs";
import { Link } from "../components/Link";
import { ProgressBar } from "../components/Progress";
import { EmptyState, ErrorState, Spinner } from "../components/States";
import { StatusBadge } from "../components/StatusBadge";
import { FILTERABLE_STATES, formatCount, formatNumber, formatRelative, formatTime, isTerminal, shortId, stateLabel } from "../lib/format";
import { jobModelRef } from "../lib/models";

/** Streams open at once for live badges (browsers allow ~6 HTTP/1.1 connections per host). */
const MAX_LIVE_ROWS = 4;

export function RunsPage() {
  const page = useAtomValue(runsPageAtom);
  const loading = useAtomValue(runsLoadingAtom);
  const filters = useAtomValue(runsFiltersAtom);
  const setFilters = useSetAtom(runsFiltersAtom);
  const paging = useSetAtom(runsPagingAtom);
  const refresh = useSetAtom(refreshRunsAtom);
  const models = useAtomValue(modelsLoadableAtom);
  const navigate = useSetAtom(locationAtom);
  const modelList = useMemo(() => (models.state === "hasData" ? models.data : []), [models]);
  const [selected, setSelected] = useState<string[]>([]);

  // Always fresh on arrival (a run may have been submitted in between).
  useEffect(() => refresh(), [refresh]);

  const jobs = page?.jobs ?? [];
  // A search that cannot start an id is the search field's error, not the list's.
  const searchError = page?.error?.field === "job_id_prefix" ? page.error.detail : undefined;

  const active = jobs.filter((j) => !isTerminal(j.state));
  const liveIds = new Set(active.slice(0, MAX_LIVE_ROWS).map((j) => j.jobId));
  const unwatched = active.length > MAX_LIVE_ROWS;

  // Jobs beyond the streamed ones are refreshed now and then, so every badge stays current.
  useEffect(() => {
    if (!unwatched) return;
    const t = setInterval(refresh, 5000);
    return () => clearInterval(t);
  }, [unwatched, refresh]);

  const selectedJobs = selected.map((id) => jobs.find((j) => j.jobId === id)).filter((j): j is Job => !!j);
  const sameModel = selectedJobs.every((j) => j.model === selectedJobs[0]?.model);
  const canCompare = selected.length >= 2 && selected.length <= 4 && sameModel;
  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length >= 4 ? s : [...s, id]));

  const modelOf = (name: string) => modelList.find((m) => m.name === name);
  const filtered = filters.model !== "" || filters.states.length > 0 || filters.search !== "";

  return (
    <section className="page" data-testid="runs-page">
      <header className="page-head">
        <div>
          <h1>Runs</h1>
          <p className="muted">Your simulations, newest first. Badges update live.</p>
        </div>
        <div className="head-actions">
          <button
            type="button"
            className="btn btn-secondary"
            disabled={!canCompare}
            title={canCompare ? "" : "Select 2 to 4 finished runs of the same model"}
            onClick={() => navigate(`/compare?ids=${selected.map(encodeURIComponent).join(",")}`)}
            data-testid="compare-selected"
          >
            Compare{selected.length ? ` (${selected.length})` : ""}
          </button>
          <Link className="btn btn-primary" to="/new">
            New simulation
          </Link>
        </div>
      </header>

      <div className="filters card" role="search">
        <div className={`filter ${searchError ? "field-error" : ""}`}>
          <label htmlFor="filter-search" className="field-label">
            Search by id
          </label>
          <input
            id="filter-search"
            className="input mono"
            type="search"
            placeholder="e.g. 3f9a"
            value={filters.search}
            aria-invalid={searchError ? true : undefined}
            aria-describedby={searchError ? "filter-search-error" : undefined}
            onChange={(e) => setFilters({ search: e.target.value })}
          />
          {searchError ? (
            <div id="filter-search-error" className="field-msg" role="alert" data-testid="error-search">
              {searchError}
            </div>
          ) : null}
        </div>
        <div className="filter">
          <label htmlFor="filter-model" className="field-label">
            Model
          </label>
          <select id="filter-model" className="input" value={filters.model} onChange={(e) => setFilters({ model: e.target.value })}>
            <option value="">All models</option>
            {modelList.map((m) => (
              <option key={m.name} value={m.name}>
                {m.title || m.name}
              </option>
            ))}
          </select>
        </div>
        <div className="filter filter-states">
          <span className="field-label" id="filter-states-label">
            Status
          </span>
          <div className="chips" role="group" aria-labelledby="filter-states-label">
            {FILTERABLE_STATES.map((s) => {
              const on = filters.states.includes(s);
              return (
                <button
                  key={s}
                  type="button"
                  className={`chip ${on ? "on" : ""}`}
                  aria-pressed={on}
                  onClick={() => setFilters({ states: on ? filters.states.filter((x) => x !== s) : [...filters.states, s] })}
                >
                  {stateLabel(s)}
                </button>
              );
            })}
          </div>
        </div>
        {filtered ? (
          <button type="button" className="btn btn-ghost clear" onClick={() => setFilters({ model: "", states: [], search: "" })}>
            Clear filters
          </button>
        ) : null}
      </div>

      <div className="card table-card">
        {page === null ? (
          <Spinner label="Loading runs" />
        ) : page.error && !searchError ? (
          <ErrorState title="Could not load runs" error={page.error} onRetry={refresh} />
        ) : jobs.length === 0 ? (
          filtered ? (
            <EmptyState title="No runs match these filters">Try another model or status, or clear the search.</EmptyState>
          ) : (
            <EmptyState
              title="No runs yet"
              action={
                <Link className="btn btn-primary" to="/new">
                  Start your first simulation
                </Link>
              }
            >
              Submit a simulation and it will show up here, with its status updating live.
            </EmptyState>
          )
        ) : (
          <table className={`table runs ${loading ? "is-loading" : ""}`} data-testid="runs-table">
            <thead>
              <tr>
                <th className="sel" scope="col">
                  <span className="sr-only">Select for comparison</span>
                </th>
                <th scope="col">Status</th>
                <th scope="col">Run</th>
                <th scope="col">Model</th>
                <th scope="col" className="num">
                  Samples
                </th>
                <th scope="col">Progress</th>
                <th scope="col" className="num">
                  Estimate
                </th>
                <th scope="col">Submitted</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) =>
                liveIds.has(j.jobId) ? (
                  <LiveRow key={j.jobId} job={j} model={modelOf(j.model)} selected={selected.includes(j.jobId)} onToggle={toggle} />
                ) : (
                  <Row key={j.jobId} job={j} model={modelOf(j.model)} selected={selected.includes(j.jobId)} onToggle={toggle} live={false} />
                ),
              )}
            </tbody>
          </table>
        )}
        {page && !page.error && (page.pageIndex > 0 || page.nextPageToken) ? (
          <div className="pager">
            <button type="button" className="btn btn-ghost" disabled={page.pageIndex === 0} onClick={() => paging("prev")}>
              ← Newer
            </button>
            <span className="muted">Page {page.pageIndex + 1}</span>
            <button type="button" className="btn btn-ghost" disabled={!page.nextPageToken} onClick={() => paging("next")}>
              Older →
            </button>
          </div>
        ) : null}
      </div>
      {selected.length > 0 && !sameModel ? (
        <p className="hint warn">Compare needs runs of the same model.</p>
      ) : null}
    </section>
  );
}

interface RowProps {
  job: Job;
  model: Model | undefined;
  selected: boolean;
  onToggle: (id: string) => void;
}

function LiveRow(props: RowProps) {
  const feed = useAtomValue(jobFeedAtom(props.job.jobId));
  const job = feed.job && feed.job.seq >= props.job.seq ? feed.job : props.job;
  return <Row {...props} job={job} live={feed.connection === "live"} />;
}

function Row({ job, model, selected, onToggle, live }: RowProps & { live: boolean }) {
  const done = isTerminal(job.state);
  const canSelect = job.state === JobState.SUCCEEDED;
  const output = model?.outputs.find((o) => o.name === job.primaryOutput);
  const href = `/runs/${encodeURIComponent(job.jobId)}`;
  return (
    <tr data-job-id={job.jobId} className={selected ? "selected" : ""}>
      <td className="sel">
        <input
          type="checkbox"
          aria-label={`Select run ${shortId(job.jobId)} for comparison`}
          checked={selected}
          disabled={!canSelect}
          onChange={() => onToggle(job.jobId)}
        />
      </td>
      <td>
        <StatusBadge state={job.state} live={live} />
      </td>
      <td>
        <Link to={href} className="mono run-link" title={job.jobId}>
          {shortId(job.jobId)}
        </Link>
      </td>
      <td>
        <div className="cell-title">{model?.title || job.model}</div>
        {job.modelVersion > 0 ? <div className="muted mono cell-ref">{jobModelRef(job)}</div> : null}
      </td>
      <td className="num mono">{job.progress ? formatCount(job.progress.samplesTotal) : "—"}</td>
      <td className="cell-progress">
        {job.state === JobState.FAILED ? (
          <span className="muted" title={job.error?.message}>
            {job.error?.message || "Failed"}
          </span>
        ) : (
          <div className={done && job.state !== JobState.SUCCEEDED ? "stopped" : ""}>
            <ProgressBar progress={job.progress} active={job.state === JobState.RUNNING} compact stop={job.stop} />
          </div>
        )}
      </td>
      <td className="num mono" title={output?.label}>
        {job.progress?.estimate !== undefined ? formatNumber(job.progress.estimate) : "—"}
        {job.progress?.stderr !== undefined ? <span className="muted"> ± {formatNumber(job.progress.stderr)}</span> : null}
      </td>
      <td title={formatTime(job.createdAt)} className="nowrap">
        {formatRelative(job.createdAt)}
      </td>
    </tr>
  );
}
