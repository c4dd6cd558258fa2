-- Daily totals per campaign: the additive counts and sums every rate is derived from.
-- Rates are not stored: CTR = clicks / impressions, CPA = spend / conversions, ROAS = revenue / spend.
--
-- Incremental: a (day, campaign) is recomputed from events_daily when its rows changed since the
-- watermark, and every day of a campaign whose dimension row was (re)loaded since then, so a renamed
-- campaign is renamed everywhere, as a full rebuild would.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key=['day', 'campaign_id'],
    )
}}

with

{% if is_incremental() %}
changed_keys as (
    select distinct day, campaign_id
    from {{ ref('events_daily') }}
    where last_loaded_at > {{ watermark() }}
    union
    select daily.day, daily.campaign_id
    from {{ ref('events_daily') }} as daily
    join {{ ref('stg_campaigns') }} as campaigns using (campaign_id)
    where campaigns.loaded_at > {{ watermark() }}
),

days as (
    select daily.*
    from {{ ref('events_daily') }} as daily
    join changed_keys using (day, campaign_id)
),
{% else %}
days as (
    select * from {{ ref('events_daily') }}
),
{% endif %}

per_campaign as (
    select
        day,
        campaign_id,
        min(brand_id)               as event_brand_id,
        {{ sum_measures() }},
        max(last_loaded_at)         as last_loaded_at
    from days
    group by day, campaign_id
),

named as (
    select
        per_campaign.day,
        per_campaign.campaign_id,
        campaigns.campaign_name,
        coalesce(campaigns.brand_id, per_campaign.event_brand_id)   as brand_id,
        {% for measure in all_measures() -%}
        per_campaign.{{ measure }},
        {% endfor -%}
        greatest(per_campaign.last_loaded_at, campaigns.loaded_at)  as last_loaded_at
    from per_campaign
    left join {{ ref('stg_campaigns') }} as campaigns using (campaign_id)
)

select * from named
