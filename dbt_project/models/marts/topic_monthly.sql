-- Views and watch time per content topic and month: how interest in each topic evolves.
-- Incremental: a month is recomputed whole from int_content_daily when any of its days changed since the watermark.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='month',
    )
}}

with

content as (
    select *, cast(date_trunc('month', day) as date) as month
    from {{ ref('int_content_daily') }}
    where topic is not null
),

months as (
    {{ changed_partitions('content', 'month') }}
),

per_topic as (
    select
        month,
        topic,
        {{ sum_measures(['views', 'watch_seconds']) }},
        max(last_loaded_at)         as last_loaded_at
    from months
    group by month, topic
    having sum(views) > 0
)

select * from per_topic
