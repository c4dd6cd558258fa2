-- Daily additive totals per publisher and content topic: the base of the publisher and topic marts.
-- A day is recomputed whole from staging when any of its events is loaded after this table's watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
    )
}}

with

events as (
    {{ changed_partitions(ref('stg_events'), 'event_date', loaded_at='loaded_at', prune_on=('event_ts', 'event_date')) }}
),

rolled_up as (
    select
        event_date                                              as day,
        publisher,
        topic,
        {{ count_measures() }},
        max(loaded_at)                                          as last_loaded_at
    from events
    group by event_date, publisher, topic
)

select * from rolled_up
