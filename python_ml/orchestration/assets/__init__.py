"""The main job's assets, one module per domain of the data's journey. Each asset calls its
step's one function (in the package of its stage) and adds only Dagster's concerns: keys,
dependencies and metadata."""
