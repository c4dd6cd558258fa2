-- Earnings per data owner: today (the UTC day of as_of, see int_as_of) and all time. Owners of the dimension
-- with no earnings yet show zeros; owners seen only in events have no name.

with

as_of as (
    select * from {{ ref('int_as_of') }}
),

per_owner as (
    select
        owner_id,
        cast(coalesce(sum(earnings) filter (where day = (select as_of_day from as_of)), 0) as decimal(38, 6))
                                                                    as earnings_today,
        cast(coalesce(sum(earning_events) filter (where day = (select as_of_day from as_of)), 0) as bigint)
                                                                    as earning_events_today,
        cast(sum(earnings) as decimal(38, 6))                       as earnings_all_time,
        cast(sum(earning_events) as bigint)                         as earning_events_all_time,
        max(day)                                                    as last_earning_day
    from {{ ref('int_owner_daily') }}
    group by owner_id
),

owners as (
    select owner_id, owner_name, owner_kind from {{ ref('stg_owners') }}
)

select
    coalesce(owners.owner_id, per_owner.owner_id)                   as owner_id,
    owners.owner_name,
    owners.owner_kind,
    coalesce(per_owner.earnings_today, 0)                           as earnings_today,
    coalesce(per_owner.earning_events_today, 0)                     as earning_events_today,
    coalesce(per_owner.earnings_all_time, 0)                        as earnings_all_time,
    coalesce(per_owner.earning_events_all_time, 0)                  as earning_events_all_time,
    per_owner.last_earning_day,
    (select as_of from as_of)                                       as as_of
from owners
full outer join per_owner using (owner_id)
