with

source as (

    select * from {{ source('loader', 'load_log') }}

),

final as (

    select
        dataset || '.' || table_name as source_table,
        file_path,
        regexp_extract(file_path, '[^/]+$', 0) as file_name,
        encoding,
        file_bytes,
        file_sha256,
        rows_read,
        rows_kept,
        rows_rejected,
        loaded_at,
        data_origin,
        loader_version
    from source

)

select * from final
