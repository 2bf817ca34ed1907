-- A returned row is a raw file whose share of rows that do not parse as CSV is above the var
-- max_rejected_share (dbt_project.yml, 1% by default): fix or download the file again, or
-- raise the threshold with --vars '{max_rejected_share: 0.05}' (to dbt build, whose loader
-- reads the same var, or to python -m python_ml load and build).

select
    source_table,
    file_path,
    rows_read,
    rows_rejected,
    rows_rejected / greatest(rows_read, 1) as rejected_share
from {{ ref('stg_loader__load_log') }}
where rows_rejected / greatest(rows_read, 1) > {{ var('max_rejected_share') }}
