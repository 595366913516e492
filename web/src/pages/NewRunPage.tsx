import { useAtomValue, useSetAtom } from "jotai";
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import type { Model } from "../gen/simlab/v1/simulation_pb";
import { toApiError, type ApiError } from "../api/errors";
import { clientAtom } from "../state/client";
import {
  applyPresetAtom,
  deletePresetAtom,
  editFormAtom,
  fieldErrorsAtom,
  formGeneralErrorAtom,
  presetsAtom,
  runFormAtom,
  savePresetAtom,
  selectedModelAtom,
  submitFormAtom,
  submittingAtom,
} from "../state/form";
import { modelsLoadableAtom, reloadModelsAtom } from "../state/models";
import { locationAtom } from "../state/router";
import { Link } from "../components/Link";
import { ModelPicker, pickerOrder } from "../components/ModelPicker";
import { ParamField } from "../components/ParamField";
import { PlainField } from "../components/PlainField";
import { PrecisionFields } from "../components/PrecisionFields";
import { ScriptInputs } from "../components/ScriptInputs";
import { EmptyState, ErrorState, Spinner } from "../components/States";
import { shortId } from "../lib/format";
import { isScript, jobModelRef, modelRef, ownerLabel } from "../lib/models";

export function NewRunPage({ from, model: wanted }: { from?: string; model?: string }) {
  const models = useAtomValue(modelsLoadableAtom);
  const reload = useSetAtom(reloadModelsAtom);
  if (models.state === "loading") return <Page><Spinner label="Loading models" /></Page>;
  if (models.state === "hasError")
    return (
      <Page>
        <ErrorState title="Could not load the model catalogue" error={toApiError(models.error)} onRetry={reload} />
      </Page>
    );
  if (models.data.length === 0)
    return (
      <Page>
        <EmptyState title="No models yet" action={<Link className="btn btn-primary" to="/models">Push a model</Link>}>
          Push a <code>.py</code> file on the Models page to run your own code.
        </EmptyState>
      </Page>
    );
  return (
    <Page>
      <NewRunForm models={models.data} {...(from ? { from } : {})} {...(wanted ? { wanted } : {})} />
    </Page>
  );
}

function Page({ children }: { children: React.ReactNode }) {
  return (
    <section className="page">
      <header className="page-head">
        <div>
          <h1>New simulation</h1>
          <p className="muted">Pick a model, set its parameters and submit. The run page shows it converge live.</p>
        </div>
      </header>
      {children}
    </section>
  );
}

function NewRunForm({ models: catalogue, from, wanted }: { models: Model[]; from?: string; wanted?: string }) {
  const selected = useAtomValue(selectedModelAtom);
  const edit = useSetAtom(editFormAtom);
  const client = useAtomValue(clientAtom);
  const models = useMemo(() => pickerOrder(catalogue), [catalogue]);
  const [start, setStart] = useState<{ loading: boolean; error?: ApiError; errorTitle?: string; jobId?: string }>({ loading: !!from });

  // Which model the form starts with: the run being repeated, ?model= (a name or "name@vN"),
  // the last one used, or the first. A version the catalogue does not list (not the latest)
  // is fetched.
  useEffect(() => {
    let cancelled = false;
    const listed = (ref: string) => models.find((m) => modelRef(m) === ref || m.name === ref);
    const resolve = async (ref: string) => listed(ref) ?? (await client.getModel({ model: ref }));
    if (from) {
      setStart({ loading: true });
      client
        .getJob({ jobId: from })
        .then(async (job) => {
          const ref = jobModelRef(job);
          const m = await resolve(ref).catch(() => {
            throw new Error(`The model ${ref} of run ${from} is no longer available.`);
          });
          if (cancelled) return;
          edit({
            type: "load",
            model: m,
            ...(job.parameters ? { parameters: job.parameters } : {}),
            seed: job.seed,
            shards: job.shards,
            args: job.args,
            ...(job.precision ? { precision: job.precision } : {}),
          });
          setStart({ loading: false, jobId: job.jobId });
        })
        .catch((err) => !cancelled && setStart({ loading: false, error: toApiError(err), errorTitle: "Could not load the run to repeat" }));
      return () => {
        cancelled = true;
      };
    }
    if (wanted) {
      const target = listed(wanted);
      if (target) {
        if (!selected || modelRef(selected) !== modelRef(target)) edit({ type: "selectModel", model: target });
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
          setStart({ loading: false, error: toApiError(err), errorTitle: `Could not load the model ${wanted}` });
        });
      return () => {
        cancelled = true;
      };
    }
    // The model used last stays (at the version it was picked at) while it is listed.
    if (!selected || !models.some((m) => m.name === selected.name)) edit({ type: "selectModel", model: models[0]! });
    return undefined;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [from, wanted, models]);

  if (start.loading) return <Spinner label={from ? "Loading the run to repeat" : "Loading the model"} />;

  return (
    <div className="new-layout">
      <ModelPicker models={models} selected={selected} onSelect={(m) => edit({ type: "selectModel", model: m })} />
      <div className="form-col">
        {start.error ? <ErrorState title={start.errorTitle ?? "Something went wrong"} error={start.error} /> : null}
        {start.jobId ? (
          <div className="notice">
            Prefilled from run <span className="mono">{shortId(start.jobId)}</span>. Change anything, then submit.
          </div>
        ) : null}
        {selected ? <RunFormCard model={selected} latest={models.find((m) => m.name === selected.name)} /> : <Spinner />}
      </div>
    </div>
  );
}

function RunFormCard({ model, latest }: { model: Model; latest: Model | undefined }) {
  const form = useAtomValue(runFormAtom);
  const errors = useAtomValue(fieldErrorsAtom);
  const general = useAtomValue(formGeneralErrorAtom);
  const submitting = useAtomValue(submittingAtom);
  const edit = useSetAtom(editFormAtom);
  const submit = useSetAtom(submitFormAtom);
  const navigate = useSetAtom(locationAtom);
  const formRef = useRef<HTMLFormElement>(null);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const job = await submit();
    if (job) {
      navigate(`/runs/${encodeURIComponent(job.jobId)}`);
      return;
    }
    // Move focus to the first field in error, for keyboard and screen-reader users.
    requestAnimationFrame(() => {
      const el = formRef.current?.querySelector<HTMLElement>("[aria-invalid='true']");
      el?.focus();
    });
  };

  const modelError = errors["model"];
  const script = isScript(model);
  return (
    <form ref={formRef} className="card form-card" onSubmit={onSubmit} noValidate aria-labelledby="form-title" data-model-ref={modelRef(model)}>
      <div className="card-head">
        <div>
          <h2 id="form-title">{model.title || model.name}</h2>
          <p className="muted">{model.description}</p>
        </div>
        <div className="form-model">
          <span className="mono" data-testid="form-model-ref">
            {modelRef(model)}
          </span>
          <span className="muted">{ownerLabel(model)}</span>
          {latest && latest.version > model.version ? <span className="badge badge-warn">latest is v{latest.version}</span> : null}
        </div>
      </div>
      <PresetBar model={model} />
      {modelError ? (
        <div className="field-msg block" role="alert" data-testid="error-model">
          {modelError}
        </div>
      ) : null}
      {script ? (
        <ScriptInputs />
      ) : (
      <fieldset className="fields">
        <legend className="section-title">Parameters</legend>
        <div className="field-grid">
          {model.parameters.map((p) => {
            const path = `parameters.${p.name}`;
            const err = errors[path];
            return (
              <ParamField
                key={p.name}
                param={p}
                value={form.values[p.name]}
                {...(err ? { error: err } : {})}
                budget={form.precision.enabled}
                onChange={(v) => edit({ type: "field", name: p.name, value: v })}
                onBlur={() => edit({ type: "blur", field: path })}
              />
            );
          })}
        </div>
      </fieldset>
      )}
      <fieldset className="fields">
        <legend className="section-title">Execution</legend>
        <div className="field-grid">
          <PlainField
            path="seed"
            label="Seed"
            value={form.seed}
            placeholder="random"
            help="Same seed, same result — whatever the number of shards. Leave empty for a random seed."
            error={errors["seed"]}
            onChange={(v) => edit({ type: "seed", value: v })}
            onBlur={() => edit({ type: "blur", field: "seed" })}
          />
          <PlainField
            path="shards"
            label="Shards"
            value={form.shards}
            placeholder="1"
            help={script ? "A script runs as one process." : "Parallel workers; each processes a disjoint set of blocks."}
            disabled={script}
            error={errors["shards"]}
            onChange={(v) => edit({ type: "shards", value: v })}
            onBlur={() => edit({ type: "blur", field: "shards" })}
          />
        </div>
        {script ? null : (
          <>
            <label className="check">
              <input type="checkbox" checked={form.reuseCache} onChange={(e) => edit({ type: "reuseCache", value: e.target.checked })} aria-describedby="reuse-cache-help" data-field="no_cache" />
              <span>Reuse a cached result</span>
            </label>
            <div id="reuse-cache-help" className="field-help">
              With a fixed seed, a finished run with the same code, parameters, seed and precision is reused at once instead of computed again.
            </div>
          </>
        )}
      </fieldset>
      {/* After Execution: Tab from the last parameter still reaches the seed. */}
      {script ? null : (
        <PrecisionFields
          form={form.precision}
          errors={errors}
          onChange={(change) => edit({ type: "precision", change })}
          onBlur={(field) => edit({ type: "blur", field })}
        />
      )}
      {general ? <ErrorState title="The run was not submitted" error={general} /> : null}
      <div className="form-actions">
        <button type="button" className="btn btn-ghost" onClick={() => edit({ type: "reset" })}>
          Reset to defaults
        </button>
        <button type="submit" className="btn btn-primary" disabled={submitting} data-testid="submit">
          {submitting ? "Submitting…" : "Run simulation"}
        </button>
      </div>
    </form>
  );
}

function PresetBar({ model }: { model: Model }) {
  const presets = useAtomValue(presetsAtom);
  const apply = useSetAtom(applyPresetAtom);
  const save = useSetAtom(savePresetAtom);
  const remove = useSetAtom(deletePresetAtom);
  const [chosen, setChosen] = useState("");
  const [name, setName] = useState("");
  const [msg, setMsg] = useState<{ tone: "ok" | "bad"; text: string } | null>(null);
  const list = presets?.presets ?? [];

  useEffect(() => {
    setChosen("");
    setMsg(null);
  }, [model.name]);

  const onSave = async () => {
    if (!name.trim()) {
      setMsg({ tone: "bad", text: "Give the preset a name." });
      return;
    }
    const err = await save(name);
    setMsg(err ? { tone: "bad", text: err.message } : { tone: "ok", text: `Saved “${name.trim()}”.` });
    if (!err) {
      setChosen(name.trim());
      setName("");
    }
  };

  return (
    <div className="preset-bar" aria-label="Presets" role="group">
      <div className="preset-load">
        <label htmlFor="preset-select" className="field-label">
          Preset
        </label>
        <div className="row">
          <select
            id="preset-select"
            className="input"
            value={chosen}
            onChange={(e) => {
              const p = list.find((x) => x.name === e.target.value);
              setChosen(e.target.value);
              if (p) {
                apply(p);
                setMsg({ tone: "ok", text: `Loaded “${p.name}”.` });
              }
            }}
            disabled={presets === null}
          >
            <option value="">{presets === null ? "Loading…" : list.length ? "Load a preset…" : "No presets yet"}</option>
            {list.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="btn btn-ghost"
            disabled={!chosen}
            onClick={async () => {
              const err = await remove(chosen);
              setMsg(err ? { tone: "bad", text: err.message } : { tone: "ok", text: `Deleted “${chosen}”.` });
              if (!err) setChosen("");
            }}
          >
            Delete
          </button>
        </div>
      </div>
      <div className="preset-save">
        <label htmlFor="preset-name" className="field-label">
          Save current values as
        </label>
        <div className="row">
          <input
            id="preset-name"
            className="input"
            value={name}
            placeholder="Preset name"
            onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                void onSave();
              }
            }}
          />
          <button type="button" className="btn btn-secondary" onClick={() => void onSave()}>
            Save preset
          </button>
        </div>
      </div>
      {msg ? (
        <div className={`preset-msg ${msg.tone}`} role="status">
          {msg.text}
        </div>
      ) : presets?.error ? (
        <div className="preset-msg bad" role="status">
          Presets unavailable: {presets.error.message}
        </div>
      ) : null}
    </div>
  );
}
