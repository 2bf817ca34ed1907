with

source as (

    select * from {{ source('loader', 'load_rejects') }}

),

final as (

    select
        dataset || '.' || table_name as source_table,
        file_path,
        file_line,
        'unparseable row' as rejection_reason,
        lower(error_type)
        || coalesce(' at column ' || column_name, '')
        || ': '
        || error_message as rejection_detail,
        raw_text,
        loaded_at
    from source

)

select * from final
