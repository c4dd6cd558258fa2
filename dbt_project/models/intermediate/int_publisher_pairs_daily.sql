-- Sessions in which two publishers both appear, per UTC day of the session start (publisher_a < publisher_b).
-- Incremental: when sessions are replayed, the sessions replaced always lie within the span of a rewritten
-- session (one holding a newly loaded event), so every day from such a session's start to its end is
-- recounted whole from the sessions table. A recounted day left with no pair is still cleared: the batch names
-- it with a placeholder row that replace_partitions does not insert.
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_partitions',
        unique_key='day',
        placeholder_when='publisher_a is null',
    )
}}

with

{% if is_incremental() %}
changed_days as (
    select distinct cast(unnest(generate_series(
        date_trunc('day', session_start), date_trunc('day', session_end), interval '1 day'
    )) as date) as day
    from {{ ref('sessions') }}
    where last_loaded_at > {{ watermark() }}
),

sessions as (
    select *
    from {{ ref('sessions') }}
    where session_start >= (select min(day) from changed_days)
      and cast(session_start as date) in (select day from changed_days)
),
{% else %}
sessions as (
    select * from {{ ref('sessions') }}
),
{% endif %}

session_publishers as (
    select
        session_id,
        cast(session_start as date)     as day,
        unnest(publishers)              as publisher,
        last_loaded_at
    from sessions
    where len(publishers) > 1
),

pairs as (
    select
        a.day,
        a.publisher                     as publisher_a,
        b.publisher                     as publisher_b,
        count(*)                        as shared_sessions,
        max(a.last_loaded_at)           as last_loaded_at
    from session_publishers as a
    join session_publishers as b
        on a.session_id = b.session_id
        and a.publisher < b.publisher
    group by a.day, a.publisher, b.publisher
)

{% if is_incremental() %}
, placeholders as (
    select day, null as publisher_a, null as publisher_b, 0 as shared_sessions, null as last_loaded_at
    from changed_days
)

select * from pairs
union all
select * from placeholders
{% else %}
select * from pairs
{% endif %}
