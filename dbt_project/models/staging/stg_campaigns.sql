select
    campaign_id,
    brand_id,
    coalesce(name, campaign_id)         as campaign_name,
    objective,
    channels,
    start_date,
    end_date,
    budget,
    daily_budget,
    goal_conversions,
    target_cpa,
    _loaded_at                          as loaded_at
from {{ source('raw', 'campaigns') }}
