{#- Fails when the model's column sums differ from another relation's: a rollup must neither lose nor
    double count anything. `compare_to` is a ref() or source(); `measures` the columns summed in both
    (default: every measure, var `measures`). -#}
{% test same_totals(model, compare_to, measures=none) %}
{%- set measures = measures or all_measures() -%}
with
here as (
    select {% for m in measures %}coalesce(sum({{ m }}), 0) as {{ m }}{{ ',' if not loop.last }}{% endfor %}
    from {{ model }}
),
there as (
    select {% for m in measures %}coalesce(sum({{ m }}), 0) as {{ m }}{{ ',' if not loop.last }}{% endfor %}
    from {{ compare_to }}
)
select *
from here, there
where {% for m in measures %}here.{{ m }} <> there.{{ m }}{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
