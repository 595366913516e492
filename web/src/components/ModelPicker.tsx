import { Fragment } from "react";
import type { Model } from "../gen/simlab/v1/simulation_pb";
import { isScript, ownerLabel } from "../lib/models";

/** Built-in models first (as before versions), then the pushed ones by name. */
export function pickerOrder(models: readonly Model[]): Model[] {
  return [...models].sort((a, b) => (a.builtin !== b.builtin ? (a.builtin ? -1 : 1) : 0) || (a.builtin ? 0 : a.name.localeCompare(b.name)));
}

/** The models to pick from, as cards (arrow keys move between them), built-in ones first. */
export function ModelPicker({ models, selected, onSelect }: { models: readonly Model[]; selected: Model | null | undefined; onSelect: (m: Model) => void }) {
  const firstShared = models.findIndex((m) => !m.builtin);
  return (
    <aside className="model-list" aria-label="Models">
      <h2 className="section-title">Model</h2>
      <div
        role="radiogroup"
        aria-label="Model"
        className="model-cards"
        onKeyDown={(e) => {
          const step = e.key === "ArrowDown" || e.key === "ArrowRight" ? 1 : e.key === "ArrowUp" || e.key === "ArrowLeft" ? -1 : 0;
          if (!step) return;
          e.preventDefault();
          const i = models.findIndex((m) => m.name === selected?.name);
          const next = models[(i + step + models.length) % models.length]!;
          onSelect(next);
          (e.currentTarget.querySelector(`[data-model="${next.name}"]`) as HTMLElement | null)?.focus();
        }}
      >
        {models.map((m, i) => {
          const active = selected?.name === m.name;
            return (
            <Fragment key={m.name}>
              {i === firstShared ? (
                <div className="model-group" aria-hidden="true">
                  Pushed models
                </div>
              ) : null}
              <button
                type="button"
                role="radio"
                aria-checked={active}
                tabIndex={active ? 0 : -1}
                className={`model-card ${active ? "active" : ""}`}
                onClick={() => onSelect(m)}
                data-model={m.name}
                aria-labelledby={`model-${m.name}-title`}
                aria-describedby={`model-${m.name}-desc`}
              >
                <span className="model-title" id={`model-${m.name}-title`}>
                  {m.title || m.name}
                </span>
                <span className="model-name mono">
                  {m.name}
                  {m.version > 0 ? ` · v${m.version}` : ""}
                </span>
                <span className="model-meta" data-testid={`model-meta-${m.name}`}>
                  {ownerLabel(m)}
                  {!m.builtin && !m.public ? " · private" : ""}
                  {isScript(m) ? " · script" : ""}
                </span>
                <span className="model-desc" id={`model-${m.name}-desc`}>
                  {m.description}
                </span>
              </button>
            </Fragment>
          );
        })}
      </div>
    </aside>
  );
}
