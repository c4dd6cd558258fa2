-- One row per advertiser: all-time totals (plain names) and the last 7 days (suffix _last_7_days: the UTC day
-- of as_of and the 6 before it, as in kpi_overview). Brands of the dimension without events show zeros.

with

as_of as (
    select * from {{ ref('int_as_of') }}
),

per_brand as (
    select
        brand_id,
        {{ sum_measures() }},
        {{ sum_measures(where='day >= (select as_of_day - 6 from as_of)', suffix='_last_7_days') }}
    from {{ ref('events_daily') }}
    where brand_id is not null
    group by brand_id
),

brands as (
    select brand_id, brand_name, industry from {{ ref('stg_brands') }}
),

combined as (
    select
        coalesce(brands.brand_id, per_brand.brand_id)   as brand_id,
        brands.brand_name,
        brands.industry,
        {% for measure in all_measures() -%}
        coalesce(per_brand.{{ measure }}, 0)            as {{ measure }},
        {% endfor -%}
        {% for measure in all_measures() -%}
        coalesce(per_brand.{{ measure }}_last_7_days, 0) as {{ measure }}_last_7_days,
        {% endfor -%}
        (select as_of from as_of)                       as as_of
    from brands
    full outer join per_brand using (brand_id)
)

select * from combined
