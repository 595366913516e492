import { useAtomValue, useSetAtom } from "jotai";
import { editFormAtom, fieldErrorsAtom, runFormAtom } from "../state/form";
import { PlainField } from "./PlainField";

/** A script model's inputs: free-form parameters (a key and a JSON value per row), which it
 * reads with simlab.params(), and its command-line arguments. */
export function ScriptInputs() {
  const form = useAtomValue(runFormAtom);
  const errors = useAtomValue(fieldErrorsAtom);
  const edit = useSetAtom(editFormAtom);
  const serverError = errors["parameters"];
  return (
    <>
      <fieldset className="fields" data-testid="script-params">
        <legend className="section-title">Parameters</legend>
        <p className="field-help">
          A script has no schema: it reads these with <code>simlab.params()</code>. Values are JSON (<code>3.5</code>, <code>"text"</code>,{" "}
          <code>[1, 2]</code>, <code>true</code>); a plain word is taken as a string.
        </p>
        <div className="param-rows">
          {form.rows.map((row, i) => {
            const path = `rows.${i}`;
            const err = errors[path];
            return (
              <div className={`param-row ${err ? "field-error" : ""}`} key={i} data-testid={`param-row-${i}`}>
                <input
                  className="input mono"
                  aria-label={`Parameter ${i + 1} name`}
                  placeholder="name"
                  autoComplete="off"
                  spellCheck={false}
                  value={row.key}
                  onChange={(e) => edit({ type: "row", index: i, key: e.target.value })}
                  onBlur={() => edit({ type: "blur", field: path })}
                  aria-invalid={err ? true : undefined}
                  data-field={`${path}.key`}
                />
                <input
                  className="input mono"
                  aria-label={`Parameter ${i + 1} value`}
                  placeholder="JSON value"
                  autoComplete="off"
                  spellCheck={false}
                  value={row.value}
                  onChange={(e) => edit({ type: "row", index: i, value: e.target.value })}
                  onBlur={() => edit({ type: "blur", field: path })}
                  aria-invalid={err ? true : undefined}
                  aria-describedby={err ? `error-${path}` : undefined}
                  data-field={`${path}.value`}
                />
                <button type="button" className="btn btn-ghost btn-sm" onClick={() => edit({ type: "removeRow", index: i })} aria-label={`Remove parameter ${i + 1}`}>
                  Remove
                </button>
                {err ? (
                  <div id={`error-${path}`} className="field-msg" role="alert" data-testid={`error-${path}`}>
                    {err}
                  </div>
                ) : null}
              </div>
            );
          })}
        </div>
        <div>
          <button type="button" className="btn btn-secondary btn-sm" onClick={() => edit({ type: "addRow" })} data-testid="add-param">
            Add parameter
          </button>
        </div>
        {serverError ? (
          <div className="field-msg block" role="alert" data-testid="error-parameters">
            {serverError}
          </div>
        ) : null}
      </fieldset>
      <fieldset className="fields">
        <legend className="section-title">Arguments</legend>
        <PlainField
          path="args"
          label="Arguments"
          value={form.args}
          placeholder="--steps 100 --out 'my results'"
          help="Passed to the script as sys.argv[1:], split as a shell would (quotes group words)."
          error={errors["args"]}
          text
          onChange={(v) => edit({ type: "args", value: v })}
          onBlur={() => edit({ type: "blur", field: "args" })}
        />
      </fieldset>
    </>
  );
}
