-- Publishers that share an audience: the number of user sessions in which both appear (publisher_a <
-- publisher_b, all time). Rebuilt from int_publisher_pairs_daily on every run (one row per pair).

select
    publisher_a,
    publisher_b,
    cast(sum(shared_sessions) as bigint)    as shared_sessions
from {{ ref('int_publisher_pairs_daily') }}
group by publisher_a, publisher_b
