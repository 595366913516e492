import type { Model } from "../gen/simlab/v1/simulation_pb";

/** Parameter names in the model's order (as on the form), then any it no longer declares. */
export function orderParams(model: Model | undefined, keys: string[]): string[] {
  const known = model ? model.parameters.map((p) => p.name).filter((n) => keys.includes(n)) : [];
  return [...known, ...keys.filter((k) => !known.includes(k))];
}

/** Summary keys: the primary output first, then the model's outputs in order, then the rest. */
export function orderOutputs(model: Model | undefined, primary: string | undefined, keys: string[]): string[] {
  const rank = (k: string) => {
    if (k === primary) return -1;
    const i = model?.outputs.findIndex((o) => o.name === k) ?? -1;
    return i < 0 ? 1000 : i;
  };
  return [...keys].sort((a, b) => rank(a) - rank(b));
}
