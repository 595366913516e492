import { useAtomValue } from "jotai";
import { runJobAtom, runModelAtom } from "../../state/run";
import { formatNumber } from "../../lib/format";
import { describePrecision } from "../../lib/precision";
import { orderParams } from "../../lib/order";
import { joinArgs } from "../../lib/script";

/** The parameters, arguments (of a script), seed, shards, precision target and block size the
 * run was submitted with. */
export function ParamsCard() {
  const job = useAtomValue(runJobAtom);
  const model = useAtomValue(runModelAtom);
  if (!job) return null;
  const given = job.parameters ?? {};
  // The model's order (as on the form), then anything the model no longer declares.
  const params = Object.fromEntries(orderParams(model, Object.keys(given)).map((k) => [k, given[k]!]));
  return (
    <div className="card">
      <h2>Parameters</h2>
      <table className="table kv" data-testid="params-table">
        <tbody>
          {Object.entries(params).map(([k, v]) => {
            const p = model?.parameters.find((x) => x.name === k);
            return (
              <tr key={k}>
                <th scope="row" title={p?.help || k}>{p?.label || k}</th>
                <td className="mono num">
                  {formatNumber(v)}
                  {p?.unit ? <span className="muted"> {p.unit}</span> : null}
                </td>
              </tr>
            );
          })}
          {job.args.length ? (
            <tr>
              <th scope="row">Arguments</th>
              <td className="mono" data-testid="run-args">
                {joinArgs(job.args)}
              </td>
            </tr>
          ) : null}
          <tr>
            <th scope="row">Seed</th>
            <td className="mono num">{job.seed.toString()}</td>
          </tr>
          <tr>
            <th scope="row">Shards</th>
            <td className="mono num">{job.shards}</td>
          </tr>
          {job.precision ? (
            <tr>
              <th scope="row">Precision target</th>
              <td className="mono" data-testid="run-precision">
                {describePrecision(job.precision)}
              </td>
            </tr>
          ) : null}
          {job.blockSize > 0n ? (
            <tr>
              <th scope="row">Block size</th>
              <td className="mono num">{formatNumber(Number(job.blockSize))}</td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </div>
  );
}
