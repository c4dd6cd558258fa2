{#- Models land in the schema they declare (staging, marts), not "<target>_<schema>":
    analysts query marts.campaign_daily, whatever the target is called. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name is not none else target.schema }}
{%- endmacro %}
