select
    owner_id,
    coalesce(name, owner_id)            as owner_name,
    kind                                as owner_kind,
    revenue_share
from {{ source('raw', 'owners') }}
