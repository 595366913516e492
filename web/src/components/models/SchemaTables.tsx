import { ParameterType, type Model, type Parameter } from "../../gen/simlab/v1/simulation_pb";
import { defaultOf } from "../../lib/params";
import { boundsHint } from "../ParamField";

const TYPES: Record<ParameterType, string> = {
  [ParameterType.UNSPECIFIED]: "—",
  [ParameterType.FLOAT]: "float",
  [ParameterType.INT]: "int",
  [ParameterType.BOOL]: "bool",
  [ParameterType.CHOICE]: "choice",
};

function typeOf(p: Parameter): string {
  return p.type === ParameterType.CHOICE ? `one of ${p.choices.join(", ")}` : TYPES[p.type] ?? "—";
}

/** The schema a registration inferred: parameters and outputs (a script has none). */
export function SchemaTables({ model }: { model: Model }) {
  if (model.parameters.length === 0 && model.outputs.length === 0) {
    return <p className="muted">No schema: a script takes any JSON parameters and its own arguments.</p>;
  }
  return (
    <div className="schema" data-testid="schema">
      <table className="table schema-table" data-testid="schema-params">
        <caption className="section-title">Parameters</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Default</th>
            <th scope="col">Bounds</th>
            <th scope="col">Unit</th>
            <th scope="col">Help</th>
          </tr>
        </thead>
        <tbody>
          {model.parameters.map((p) => {
            const d = defaultOf(p);
            return (
              <tr key={p.name} data-param={p.name}>
                <th scope="row" className="mono">
                  {p.name}
                  {p.isSampleCount ? <span className="tag">samples</span> : null}
                </th>
                <td>{typeOf(p)}</td>
                <td className="mono" data-testid={`default-${p.name}`}>
                  {d === undefined ? <span className="muted">required</span> : JSON.stringify(d)}
                </td>
                <td className="mono">{boundsHint(p) || <span className="muted">—</span>}</td>
                <td>{p.unit}</td>
                <td>{p.help}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {model.outputs.length ? (
        <table className="table schema-table" data-testid="schema-outputs">
          <caption className="section-title">Outputs</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Label</th>
              <th scope="col">Unit</th>
              <th scope="col">Help</th>
            </tr>
          </thead>
          <tbody>
            {model.outputs.map((o) => (
              <tr key={o.name} data-output={o.name}>
                <th scope="row" className="mono">
                  {o.name}
                  {o.name === model.primaryOutput ? <span className="tag">primary</span> : null}
                </th>
                <td>{o.label}</td>
                <td>{o.unit}</td>
                <td>{o.help}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
