select
    file_id,
    file_name,
    row_number,
    row_number is null                  as is_whole_file,
    reason,
    raw_content,
    quarantined_at
from {{ source('raw', 'quarantine') }}
