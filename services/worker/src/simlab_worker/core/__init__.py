"""Pure logic of the worker: the Monte Carlo engine, artifacts, plots and the shard flow."""
