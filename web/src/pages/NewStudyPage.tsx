import { useAtomValue, useSetAtom } from "jotai";
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import type { Model } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import { clientAtom } from "../state/client";
import { modelsLoadableAtom, reloadModelsAtom } from "../state/models";
import { locationAtom } from "../state/router";
import {
  editStudyFormAtom,
  studyFieldErrorsAtom,
  studyFormAtom,
  studyFormModelAtom,
  studyGeneralErrorAtom,
  studyPointCountAtom,
  studySubmittingAtom,
  submitStudyFormAtom,
} from "../state/studyForm";
import { Link } from "../components/Link";
import { ModelPicker, pickerOrder } from "../components/ModelPicker";
import { PlainField } from "../components/PlainField";
import { PrecisionFields } from "../components/PrecisionFields";
import { EmptyState, ErrorState, Spinner } from "../components/States";
import { SweepField } from "../components/study/SweepField";
import { isScript, modelRef, ownerLabel } from "../lib/models";
import { studyPath } from "../lib/share";
import { axisErrors, DESIGNS, MAX_STUDY_POINTS, sweptParams } from "../lib/study/spec";

export function NewStudyPage({ model: wanted }: { model?: string }) {
  const models = useAtomValue(modelsLoadableAtom);
  const reload = useSetAtom(reloadModelsAtom);
  // A script has free-form parameters and no blocks: nothing to sweep.
  const sweepable = useMemo(() => (models.state === "hasData" ? pickerOrder(models.data.filter((m) => !isScript(m))) : []), [models]);
  if (models.state === "loading") return <Page><Spinner label="Loading models" /></Page>;
  if (models.state === "hasError")
    return (
      <Page>
        <ErrorState title="Could not load the model catalogue" error={toApiError(models.error)} onRetry={reload} />
      </Page>
    );
  if (sweepable.length === 0)
    return (
      <Page>
        <EmptyState title="No model to sweep" action={<Link className="btn btn-primary" to="/models">Push a model</Link>}>
          A study sweeps the parameters of a model with a schema; push a <code>.py</code> file with a <code>simulate</code> function.
        </EmptyState>
      </Page>
    );
  return (
    <Page>
      <NewStudyForm models={sweepable} {...(wanted ? { wanted } : {})} />
    </Page>
  );
}

function Page({ children }: { children: React.ReactNode }) {
  return (
    <section className="page" data-testid="new-study-page">
      <header className="page-head">
        <div>
          <h1>New study</h1>
          <p className="muted">Sweep a model&apos;s parameters: every combination of the values, or a Sobol or random design over ranges. Each point is a run.</p>
        </div>
      </header>
      {children}
    </section>
  );
}

function NewStudyForm({ models, wanted }: { models: Model[]; wanted?: string }) {
  const selected = useAtomValue(studyFormModelAtom);
  const edit = useSetAtom(editStudyFormAtom);
  const client = useAtomValue(clientAtom);
  const [start, setStart] = useState<{ loading: boolean; error?: ApiError }>({ loading: false });

  // The model the form starts with: ?model= (a name or "name@vN", fetched when it is not the
  // latest), the last one used while it is listed, or the first.
  useEffect(() => {
    let cancelled = false;
    const listed = (ref: string) => models.find((m) => modelRef(m) === ref || m.name === ref);
    if (wanted) {
      const target = listed(wanted);
      if (target) {
        edit({ type: "selectModel", model: target });
        return undefined;
      }
      setStart({ loading: true });
      client
        .getModel({ model: wanted })
        .then((m) => {
          if (cancelled) return;
          edit({ type: "selectModel", model: m });
          setStart({ loading: false });
        })
        .catch((err) => {
          if (cancelled) return;
          edit({ type: "selectModel", model: models[0]! });
          setStart({ loading: false, error: toApiError(err) });
        });
      return () => {
        cancelled = true;
      };
    }
    if (!selected || !models.some((m) => m.name === selected.name)) edit({ type: "selectModel", model: models[0]! });
    return undefined;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [wanted, models]);

  if (start.loading) return <Spinner label="Loading the model" />;
  return (
    <div className="new-layout">
      <ModelPicker models={models} selected={selected} onSelect={(m) => edit({ type: "selectModel", model: m })} />
      <div className="form-col">
        {start.error ? <ErrorState title={`Could not load the model ${wanted}`} error={start.error} /> : null}
        {selected ? <StudyFormCard model={selected} /> : <Spinner />}
      </div>
    </div>
  );
}

function StudyFormCard({ model }: { model: Model }) {
  const form = useAtomValue(studyFormAtom);
  const errors = useAtomValue(studyFieldErrorsAtom);
  const general = useAtomValue(studyGeneralErrorAtom);
  const submitting = useAtomValue(studySubmittingAtom);
  const points = useAtomValue(studyPointCountAtom);
  const edit = useSetAtom(editStudyFormAtom);
  const submit = useSetAtom(submitStudyFormAtom);
  const navigate = useSetAtom(locationAtom);
  const formRef = useRef<HTMLFormElement>(null);
  if (!form) return <Spinner />;
  const swept = sweptParams(model, form).map((p) => p.name);
  const grid = form.design === "grid";

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const study = await submit();
    if (study) {
      navigate(studyPath(study.studyId));
      return;
    }
    // Move focus to the first field in error, for keyboard and screen-reader users.
    requestAnimationFrame(() => formRef.current?.querySelector<HTMLElement>("[aria-invalid='true']")?.focus());
  };

  // No axis, or a grid too large.
  const whole = errors["axes"];
  return (
    <form ref={formRef} className="card form-card" onSubmit={onSubmit} noValidate aria-labelledby="study-form-title" data-model-ref={modelRef(model)}>
      <div className="card-head">
        <div>
          <h2 id="study-form-title">{model.title || model.name}</h2>
          <p className="muted">{model.description}</p>
        </div>
        <div className="form-model">
          <span className="mono" data-testid="form-model-ref">
            {modelRef(model)}
          </span>
          <span className="muted">{ownerLabel(model)}</span>
        </div>
      </div>
      <PlainField
        path="title"
        label="Title"
        value={form.title}
        placeholder={`${model.title || model.name} study`}
        help="How the study is listed. Optional."
        text
        error={errors["title"]}
        onChange={(v) => edit({ type: "title", value: v })}
        onBlur={() => edit({ type: "blur", field: "title" })}
      />
      <fieldset className="fields">
        <legend className="section-title">Parameters</legend>
        <p className="field-help">Hold a parameter fixed, or sweep it over a list of values or a range. Axes are taken in this order, the first varying slowest.</p>
        <div className="sweep-list">
          {model.parameters.map((p) => {
            const axis = swept.indexOf(p.name);
            const err = errors[`parameters.${p.name}`];
            return (
              <SweepField
                key={p.name}
                param={p}
                sweep={form.sweeps[p.name]!}
                fixedValue={form.fixed[p.name]}
                {...(err ? { fixedError: err } : {})}
                errors={axis >= 0 ? axisErrors(errors, axis) : {}}
                grid={grid}
                budget={form.precision.enabled}
                onFixed={(v) => edit({ type: "fixed", name: p.name, value: v })}
                onSweep={(change) => edit({ type: "sweep", name: p.name, change })}
                onBlur={(field) => edit({ type: "blur", field })}
              />
            );
          })}
        </div>
      </fieldset>
      <fieldset className="fields">
        <legend className="section-title">Design</legend>
        <div className="chips" role="radiogroup" aria-label="Design">
          {DESIGNS.map((d) => (
            <button
              key={d.choice}
              type="button"
              role="radio"
              aria-checked={form.design === d.choice}
              className={`chip ${form.design === d.choice ? "on" : ""}`}
              onClick={() => edit({ type: "design", value: d.choice })}
              data-field="design"
              data-design={d.choice}
            >
              {d.label}
            </button>
          ))}
        </div>
        <p className="field-help">
          {grid
            ? "Every combination of the swept values (a range gives its number of points, evenly spaced)."
            : `${form.design === "sobol" ? "Scrambled Sobol points (they fill the space evenly)" : "Uniform random points"} drawn within the ranges, seeded: the same study gives the same points.`}
        </p>
        {grid ? null : (
          <div className="field-grid">
            <PlainField
              path="points"
              label="Points"
              value={form.points}
              placeholder="256"
              help={`How many points to draw, at most ${MAX_STUDY_POINTS.toLocaleString("en-US")}.`}
              error={errors["points"]}
              onChange={(v) => edit({ type: "points", value: v })}
              onBlur={() => edit({ type: "blur", field: "points" })}
            />
          </div>
        )}
        <p className={`study-count ${whole ? "bad" : ""}`} data-testid="study-point-count" data-points={points ?? ""} role={whole ? "alert" : undefined}>
          {whole ?? (points !== undefined ? `${points.toLocaleString("en-US")} point${points === 1 ? "" : "s"}, each a run` : "Sweep a parameter to see how many points the study has.")}
        </p>
      </fieldset>
      <fieldset className="fields">
        <legend className="section-title">Random numbers</legend>
        <label className="check">
          <input type="checkbox" checked={form.crn} onChange={(e) => edit({ type: "crn", value: e.target.checked })} aria-describedby="crn-help" data-field="crn" />
          <span>Common random numbers</span>
        </label>
        <div id="crn-help" className="field-help" data-testid="crn-help">
          Same random numbers at every point: differences between points are far more precise. Unticked, each point gets its own seed, derived from the study&apos;s.
        </div>
        <div className="field-grid">
          <PlainField
            path="seed"
            label="Seed"
            value={form.seed}
            placeholder="random"
            help="Of the study: the same seed gives the same points and results. Leave empty for a random seed."
            error={errors["seed"]}
            onChange={(v) => edit({ type: "seed", value: v })}
            onBlur={() => edit({ type: "blur", field: "seed" })}
          />
          <PlainField
            path="shards"
            label="Shards per point"
            value={form.shards}
            placeholder="1"
            help="Parallel workers of each point; each processes a disjoint set of blocks."
            error={errors["shards"]}
            onChange={(v) => edit({ type: "shards", value: v })}
            onBlur={() => edit({ type: "blur", field: "shards" })}
          />
        </div>
        <label className="check">
          <input type="checkbox" checked={form.reuseCache} onChange={(e) => edit({ type: "reuseCache", value: e.target.checked })} aria-describedby="study-cache-help" data-field="no_cache" />
          <span>Reuse cached results</span>
        </label>
        <div id="study-cache-help" className="field-help">
          A point whose run (same code, parameters, seed and precision) has already finished is reused at once instead of computed again.
        </div>
      </fieldset>
      <PrecisionFields form={form.precision} errors={errors} onChange={(change) => edit({ type: "precision", change })} onBlur={(field) => edit({ type: "blur", field })} />
      {general ? <ErrorState title="The study was not submitted" error={general} /> : null}
      <div className="form-actions">
        <button type="button" className="btn btn-ghost" onClick={() => edit({ type: "reset" })}>
          Reset to defaults
        </button>
        <button type="submit" className="btn btn-primary" disabled={submitting} data-testid="submit-study">
          {submitting ? "Submitting…" : points !== undefined && !whole ? `Start study (${points.toLocaleString("en-US")} points)` : "Start study"}
        </button>
      </div>
    </form>
  );
}
