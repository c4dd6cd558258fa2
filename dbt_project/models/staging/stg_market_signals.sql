select
    signal_date,
    competitor_share_of_voice,
    search_trend_index
from {{ source('raw', 'market_signals') }}
