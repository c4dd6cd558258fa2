-- All-time totals per device, at three scopes in one table so any device chart is one indexed lookup:
--   scope 'overall'   scope_id 'all'
--   scope 'brand'     scope_id = brand_id (as carried by the events)
--   scope 'campaign'  scope_id = campaign_id
-- A device share is this row's measure over the sum of the scope's rows; rates derive from the columns.
-- Rebuilt from the daily rollup on every run (a few thousand rows at most).

with

daily as (
    select * from {{ ref('events_daily') }}
),

overall as (
    select 'overall' as scope, 'all' as scope_id, device, {{ sum_measures() }}
    from daily
    group by device
),

per_brand as (
    select 'brand' as scope, brand_id as scope_id, device, {{ sum_measures() }}
    from daily
    where brand_id is not null
    group by brand_id, device
),

per_campaign as (
    select 'campaign' as scope, campaign_id as scope_id, device, {{ sum_measures() }}
    from daily
    group by campaign_id, device
)

select * from overall
union all
select * from per_brand
union all
select * from per_campaign
