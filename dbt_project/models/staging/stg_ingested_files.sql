-- The manifest, with the accounting identity made checkable: every row read is loaded, quarantined or a duplicate.
select
    file_id,
    file_name,
    contract,
    file_format,
    status,
    reason,
    rows_read,
    rows_loaded,
    rows_quarantined,
    rows_duplicate,
    rows_read - rows_loaded - rows_quarantined - rows_duplicate as rows_unaccounted,
    deliveries,
    run_id,
    ingested_at,
    seconds
from {{ source('raw', 'ingested_files') }}
