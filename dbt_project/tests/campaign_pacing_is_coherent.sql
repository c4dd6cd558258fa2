-- Pacing that contradicts itself, on the real data: a reached goal without its date or with a projection, a
-- projection by a campaign that has ended, or a reached date for a goal not reached. No rows expected.
select campaign_id, status, goal_reached_date, days_to_goal, projected_goal_date, end_date, as_of
from {{ ref('campaign_pacing') }}
where (status = 'goal_reached') != (goal_reached_date is not null)
    or (status = 'goal_reached' and (days_to_goal is not null or projected_goal_date is not null))
    or (end_date < cast(as_of as date) and (days_to_goal is not null or projected_goal_date is not null))
    or goal_reached_date > cast(as_of as date)
