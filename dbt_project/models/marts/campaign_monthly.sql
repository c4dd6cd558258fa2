-- Monthly totals per campaign, summed from campaign_daily (so names and brands match it).
-- Incremental: a (month, campaign) is recomputed whole when any of its days changed since the watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key=['month', 'campaign_id'],
    )
}}

with

daily as (
    select *, cast(date_trunc('month', day) as date) as month
    from {{ ref('campaign_daily') }}
),

days as (
    {{ changed_partitions('daily', ['month', 'campaign_id']) }}
),

per_campaign as (
    select
        month,
        campaign_id,
        min(campaign_name)          as campaign_name,
        min(brand_id)               as brand_id,
        {{ sum_measures() }},
        max(last_loaded_at)         as last_loaded_at
    from days
    group by month, campaign_id
)

select * from per_campaign
