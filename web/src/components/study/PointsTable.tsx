import { useMemo, useState, type MouseEvent } from "react";
import { JobState, type Model } from "../../gen/simlab/v1/simulation_pb";
import { formatCount, formatNumber, shortId } from "../../lib/format";
import { STOP_REASON_LABELS } from "../../lib/precision";
import { nextSort, sortRows, type PointRow, type Sort, type SortKey } from "../../lib/study/points";
import { StatusBadge } from "../StatusBadge";

/** Every row is this tall (CSS keeps it so), which is what lets the table draw only the rows
 * in view: 10,000 points are ~20 rows in the DOM. */
export const ROW_HEIGHT = 36;
/** The scrolling area's height (less when the rows take less). */
export const VIEW_HEIGHT = 432;
/** Rows drawn above and below the visible ones, so a fast scroll shows no gap. */
const OVERSCAN = 6;

interface Column {
  key: SortKey;
  label: string;
  title?: string;
  num?: boolean;
}

/**
 * The points of a study: sortable by any column, only the rows in view in the DOM. A row
 * opens its point's run page; the checkboxes pick two finished points to compare.
 */
export function PointsTable({
  rows,
  swept,
  model,
  confidenceLabel,
  selected,
  onToggle,
  onOpen,
  runHref,
}: {
  rows: readonly PointRow[];
  swept: readonly string[];
  model: Model | undefined;
  confidenceLabel: string;
  selected: readonly number[];
  onToggle: (index: number) => void;
  onOpen: (row: PointRow) => void;
  runHref: (row: PointRow) => string;
}) {
  const [sort, setSort] = useState<Sort>({ key: "index", descending: false });
  const [scrollTop, setScrollTop] = useState(0);
  const sorted = useMemo(() => sortRows(rows, sort), [rows, sort]);
  const columns: Column[] = useMemo(
    () => [
      { key: "index", label: "#", num: true },
      { key: "state", label: "State" },
      ...swept.map((name): Column => {
        const p = model?.parameters.find((x) => x.name === name);
        return { key: `param:${name}`, label: p?.label || name, title: p?.unit ? `${name} (${p.unit})` : name, num: true };
      }),
      { key: "estimate", label: "Estimate", num: true },
      { key: "halfWidth", label: "±", title: `Half-width of the ${confidenceLabel} interval`, num: true },
      { key: "stderr", label: "Std. error", num: true },
      { key: "samples", label: "Samples", num: true },
    ],
    [swept, model, confidenceLabel],
  );

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(sorted.length, Math.ceil((scrollTop + VIEW_HEIGHT) / ROW_HEIGHT) + OVERSCAN);
  const shown = sorted.slice(first, last);
  const span = columns.length + 1;

  return (
    <div className="points-scroll" style={{ maxHeight: VIEW_HEIGHT }} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} data-testid="points-scroll" tabIndex={0} aria-label="Points">
      <table className="table runs points" data-testid="points-table" aria-rowcount={sorted.length + 1} data-sort={`${sort.key}:${sort.descending ? "desc" : "asc"}`}>
        <thead>
          <tr aria-rowindex={1}>
            <th className="sel" scope="col">
              <span className="sr-only">Select to compare</span>
            </th>
            {columns.map((c) => (
              <th key={c.key} scope="col" className={c.num ? "num" : ""} title={c.title} aria-sort={sort.key === c.key ? (sort.descending ? "descending" : "ascending") : "none"}>
                <button type="button" className="sort" onClick={() => setSort((s) => nextSort(s, c.key))} data-testid={`sort-${c.key}`}>
                  {c.label}
                  <span className="sort-mark" aria-hidden="true">
                    {sort.key === c.key ? (sort.descending ? "▼" : "▲") : ""}
                  </span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 ? (
            <tr className="spacer" aria-hidden="true" style={{ height: first * ROW_HEIGHT }}>
              <td colSpan={span} />
            </tr>
          ) : null}
          {shown.map((row, k) => (
            <PointTableRow
              key={row.index}
              row={row}
              rowIndex={first + k + 2}
              swept={swept}
              selected={selected.includes(row.index)}
              canSelect={row.state === JobState.SUCCEEDED && (selected.length < 2 || selected.includes(row.index))}
              onToggle={onToggle}
              onOpen={onOpen}
              href={runHref(row)}
            />
          ))}
          {last < sorted.length ? (
            <tr className="spacer" aria-hidden="true" style={{ height: (sorted.length - last) * ROW_HEIGHT }}>
              <td colSpan={span} />
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}

function PointTableRow({
  row,
  rowIndex,
  swept,
  selected,
  canSelect,
  onToggle,
  onOpen,
  href,
}: {
  row: PointRow;
  rowIndex: number;
  swept: readonly string[];
  selected: boolean;
  canSelect: boolean;
  onToggle: (index: number) => void;
  onOpen: (row: PointRow) => void;
  href: string;
}) {
  // A click anywhere on the row but its checkbox opens the point (a modified click on the
  // link is the browser's: a new tab).
  const open = (e: MouseEvent) => {
    if (e.target instanceof HTMLInputElement || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    e.stopPropagation();
    onOpen(row);
  };
  return (
    <tr
      className={`clickable ${selected ? "selected" : ""}`}
      style={{ height: ROW_HEIGHT }}
      aria-rowindex={rowIndex}
      data-point-index={row.index}
      data-state={JobState[row.state]}
      onClick={open}
      title={row.error || `Open the run of point ${row.index} (${shortId(row.jobId)})`}
    >
      <td className="sel">
        <input
          type="checkbox"
          aria-label={`Select point ${row.index} to compare`}
          checked={selected}
          disabled={!canSelect}
          onChange={() => onToggle(row.index)}
        />
      </td>
      <td className="num mono">
        <a href={href} onClick={open} className="run-link" data-testid="point-link">
          {row.index}
        </a>
      </td>
      <td>
        <StatusBadge state={row.state} />
      </td>
      {swept.map((name) => (
        <td key={name} className="num mono">
          {formatNumber(row.params[name])}
        </td>
      ))}
      <td className="num mono" data-testid="point-estimate">
        {row.estimate !== undefined ? formatNumber(row.estimate) : "—"}
      </td>
      <td className="num mono muted" title={row.stopReason ? STOP_REASON_LABELS[row.stopReason] : undefined}>
        {row.halfWidth !== undefined ? formatNumber(row.halfWidth) : "—"}
      </td>
      <td className="num mono muted">{row.stderr !== undefined ? formatNumber(row.stderr) : "—"}</td>
      <td className="num mono">{row.samples ? formatCount(row.samples) : "—"}</td>
    </tr>
  );
}
