-- Actuals beside forecasts: per series (each campaign, each brand, the total of all campaigns) and metric,
-- the newest training run's forecast with its 80 % and 95 % intervals beside the actuals of the same days,
-- and the actuals of the `forecast_history_days` days up to the cutoff (forecast columns null there).
--   newest run   per metric, the run with the latest trained_at in ml.forecasts (older runs stay there, to be
--                scored in ml.forecast_accuracy)
--   models       var `forecast_models`: the ensemble (the forecast the registry serves) unless overridden
--   actual       the day's total from campaign_daily, brand_daily or, for the total, every row of brand_daily:
--                the series the train flow forecast. 0 on a day without events, null on a day not in the
--                marts yet; the newest day is still filling (actual_complete false)
-- Before the first training run ml.forecasts does not exist and the mart is empty, with the same columns.
-- A small table rebuilt on every run, and by the train flow right after it writes new forecasts.

with

forecasts as (
    {{ ml_table('forecasts') }}
),

newest_runs as (
    select
        metric,
        arg_max(run_id, trained_at)     as run_id
    from forecasts
    group by metric
),

newest_forecasts as (
    select forecasts.*
    from forecasts
    join newest_runs using (metric, run_id)
    where forecasts.model in (
        {%- for model in var('forecast_models') %}'{{ model }}'{{ ', ' if not loop.last }}{% endfor -%}
    )
),

series as (
    select
        run_id,
        trained_at,
        metric,
        unique_id,
        model,
        model_version,
        cutoff,
        max(ds)                         as last_day
    from newest_forecasts
    group by all
),

series_days as (
    select
        series.*,
        cast(unnest(range(
            cutoff - {{ var('forecast_history_days') - 1 }}, last_day + 1, interval 1 day
        )) as date)                     as ds
    from series
),

daily as (
    select 'campaign/' || campaign_id as unique_id, day, {{ all_measures() | join(', ') }}
    from {{ ref('campaign_daily') }}
    union all
    select 'brand/' || brand_id, day, {{ all_measures() | join(', ') }}
    from {{ ref('brand_daily') }}
    where brand_id is not null
    union all
    select 'total', day, {{ sum_measures() }}
    from {{ ref('brand_daily') }}
    group by day
),

actuals as (
    unpivot daily
    on {{ all_measures() | join(', ') }}
    into name metric value actual
),

newest_day as (
    select max(day) as day from {{ ref('campaign_daily') }}
),

aligned as (
    select
        series_days.metric,
        case when series_days.unique_id = 'total' then 'total'
             else split_part(series_days.unique_id, '/', 1)
        end                                                                 as series_level,
        series_days.unique_id,
        case when series_days.unique_id like 'campaign/%'
             then substr(series_days.unique_id, length('campaign/') + 1)
        end                                                                 as campaign_id,
        case when series_days.unique_id like 'brand/%'
             then substr(series_days.unique_id, length('brand/') + 1)
        end                                                                 as brand_id,
        series_days.ds,
        cast(series_days.ds - series_days.cutoff as integer)                as days_ahead,
        case when series_days.ds <= newest_day.day
             then cast(coalesce(actuals.actual, 0) as double)
        end                                                                 as actual,
        coalesce(series_days.ds < newest_day.day, false)                    as actual_complete,
        series_days.model,
        newest_forecasts.yhat,
        newest_forecasts.yhat_lo_80,
        newest_forecasts.yhat_hi_80,
        newest_forecasts.yhat_lo_95,
        newest_forecasts.yhat_hi_95,
        series_days.model_version,
        series_days.run_id,
        series_days.trained_at,
        series_days.cutoff
    from series_days
    cross join newest_day
    left join actuals
        on actuals.unique_id = series_days.unique_id
        and actuals.metric = series_days.metric
        and actuals.day = series_days.ds
    left join newest_forecasts
        on newest_forecasts.unique_id = series_days.unique_id
        and newest_forecasts.metric = series_days.metric
        and newest_forecasts.model = series_days.model
        and newest_forecasts.ds = series_days.ds
)

select
    aligned.metric,
    aligned.series_level,
    aligned.unique_id,
    aligned.campaign_id,
    aligned.brand_id,
    coalesce(campaigns.campaign_name, brands.brand_name, aligned.campaign_id, aligned.brand_id, 'all campaigns')
                                        as series_name,
    aligned.ds,
    aligned.days_ahead,
    aligned.actual,
    aligned.actual_complete,
    aligned.model,
    aligned.yhat,
    aligned.yhat_lo_80,
    aligned.yhat_hi_80,
    aligned.yhat_lo_95,
    aligned.yhat_hi_95,
    aligned.model_version,
    aligned.run_id,
    aligned.trained_at,
    aligned.cutoff
from aligned
left join {{ ref('stg_campaigns') }} as campaigns on campaigns.campaign_id = aligned.campaign_id
left join {{ ref('stg_brands') }} as brands on brands.brand_id = aligned.brand_id
