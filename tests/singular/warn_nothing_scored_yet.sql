-- Warns (the build goes on) while no track has been scored: plain `dbt build` on a warehouse
-- python_ml never trained on creates the `ml` source tables empty (on-run-start), and the
-- prediction marts build from them empty or zero-filled, with data_origin `unknown`. The
-- build said only PASS and OK. `python -m python_ml run` (or `train`, `score`, then `marts`)
-- fills them; the warning goes with the first scoring.
{{ config(severity='warn') }}

select count(*) as scored_tracks
from {{ ref('fct_track_predictions') }}
having count(*) = 0
