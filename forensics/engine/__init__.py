"""Engines that run the row-level stage. `local` (polars in this process) is the default; `spark` (engine.spark)
runs the same per-row rules on a Spark cluster or a Spark Connect server. The rules themselves live with their
stage, so both engines call one implementation of each."""
