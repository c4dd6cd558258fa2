select
    brand_id,
    coalesce(name, brand_id)            as brand_name,
    industry
from {{ source('raw', 'brands') }}
