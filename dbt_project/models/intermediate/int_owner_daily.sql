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

earnings as (
    {{ changed_partitions('earning_events', 'event_date', loaded_at='loaded_at', prune_on=('event_ts', 'event_date')) }}
),

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
