{#- The additive measures every rollup stores (var `measures` in dbt_project.yml, their one declaration),
    name -> SQL type. -#}
{% macro measure_types() -%}
    {%- set types = {} -%}
    {%- for name, measure in var('measures').items() -%}
        {%- do types.update({name: measure['type']}) -%}
    {%- endfor -%}
    {{ return(types) }}
{%- endmacro %}


{% macro all_measures() -%}
    {{ return(measure_types().keys() | list) }}
{%- endmacro %}


{#- `sum(measure)` for each measure, typed; with `where`, only the rows matching it (0 when none);
    `suffix` renames the outputs (impressions -> impressions_last_7_days). -#}
{% macro sum_measures(measures=none, where=none, suffix='') -%}
    {%- set types = measure_types() -%}
    {%- for measure in (measures or all_measures()) %}
    {% if where -%}
        cast(coalesce(sum({{ measure }}) filter (where {{ where }}), 0) as {{ types[measure] }})
    {%- else -%}
        cast(sum({{ measure }}) as {{ types[measure] }})
    {%- endif %} as {{ measure }}{{ suffix }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- The measures counted and summed from events (stg_events rows), typed as every rollup stores them: each
    counts its event_type (or every event) or sums its event column, as var `measures` declares; `measures`
    picks a subset (all by default). -#}
{% macro count_measures(measures=none) -%}
    {%- set chosen = measures or all_measures() -%}
    {%- for name, measure in var('measures').items() if name in chosen %}
    {% if measure.get('counts') == '*' -%}
        cast(count(*) as {{ measure['type'] }})
    {%- elif measure.get('counts') -%}
        cast(count(*) filter (where event_type = '{{ measure['counts'] }}') as {{ measure['type'] }})
    {%- elif measure.get('coalesce') is not none -%}
        cast(coalesce(sum({{ measure['sums'] }}), {{ measure['coalesce'] }}) as {{ measure['type'] }})
    {%- else -%}
        cast(sum({{ measure['sums'] }}) as {{ measure['type'] }})
    {%- endif %} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- A rate next to its numerator and denominator; null when the denominator is 0. -#}
{% macro ratio(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0)
{%- endmacro %}


{#- The lower end of the Wilson score interval of a proportion (successes / trials) at normal quantile z:
    the rate the data supports with that confidence. Small samples get wide intervals and so low bounds,
    which is why rankings use it instead of the raw rate. Exactly 0 without successes (the formula leaves
    rounding noise there, which would break ties), null without trials, like ratio(). -#}
{% macro wilson_lower_bound(successes, trials, z) -%}
    case
        when {{ successes }} = 0 and {{ trials }} > 0 then 0.0
        when {{ trials }} > 0 then (
            cast({{ successes }} as double) + {{ z }} * {{ z }} / 2.0
            - {{ z }} * sqrt(
                cast({{ successes }} as double) * ({{ trials }} - {{ successes }}) / {{ trials }}
                + {{ z }} * {{ z }} / 4.0
            )
        ) / ({{ trials }} + {{ z }} * {{ z }})
    end
{%- endmacro %}
