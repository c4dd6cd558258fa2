-- Daily earnings per data owner: the base of owner_earnings.
-- A day is recomputed whole from staging when any of its earning events is loaded after the watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
    )
}}

with

earning_events as not materialized (  -- inlined: each use pushes its own filter into the events scan
    select *
    from {{ ref('stg_events') }}
    where event_type = 'earning'
      and owner_id is not null
),

{% if is_incremental() %}
days_with_new_earnings as (
    select distinct event_date
    from earning_events
    where loaded_at > {{ watermark() }}
),

earnings as (
    select *
    from earning_events
    where event_ts >= (select min(event_date) from days_with_new_earnings)
      and event_date in (select event_date from days_with_new_earnings)
),
{% else %}
earnings as (
    select * from earning_events
),
{% endif %}

rolled_up as (
    select
        event_date                              as day,
        owner_id,
        count(*)                                as earning_events,
        cast(sum(amount) as decimal(38, 6))     as earnings,
        max(loaded_at)                          as last_loaded_at
    from earnings
    group by event_date, owner_id
)

select * from rolled_up
