"""The cycle-times page (早落地、早开工、早投产): how many days each chain's projects take from one list to the next."""

MESSAGES: dict[str, dict[str, str]] = {
    "nav.cycle_times": {"zh": "推进周期", "en": "Cycle times"},
    "cycles.title": {"zh": "项目推进周期", "en": "Cycle times"},
    "cycles.intro": {
        "zh": "各产业链项目从签约到开工、从开工到投产、从投产到达产所用的天数：只计在所选期间内完成该步骤的项目"
              "（该步骤的后一个日期落在期间内）；已作废的项目不计，已终止的项目计其已完成的步骤。",
        "en": "How many days each chain's projects took from signing to the start of construction, from the start "
              "to production and from production to full capacity: only the projects that completed the step in "
              "the period (the step's later date falls in it) count; voided projects are left out, cancelled "
              "projects count for the steps they completed.",
    },
    "cycles.filter": {"zh": "选择期间", "en": "Choose the period"},
    "cycles.step.signed_to_started": {"zh": "签约→开工", "en": "Signed → started"},
    "cycles.step.started_to_in_production": {"zh": "开工→投产", "en": "Started → in production"},
    "cycles.step.in_production_to_at_capacity": {"zh": "投产→达产", "en": "In production → at capacity"},
    "cycles.chart": {"zh": "各产业链推进周期（中位数）", "en": "Cycle times per chain (median)"},
    "cycles.chart_title": {"zh": "{period}各产业链各步骤用时中位数（天）",
                           "en": "Median days per step and chain, {period}"},
    "cycles.chart_desc": {
        "zh": "分组柱状图：每个产业链一组，每组三根柱分别为签约→开工、开工→投产、投产→达产的用时中位数（天）；"
              "无项目完成的步骤不画柱。下表列出相同数据及项目数和第90百分位数。",
        "en": "Grouped bar chart: one group per chain, its three bars the median days from signed to started, "
              "started to in production and in production to at capacity; a step no project completed has no "
              "bar. The table below gives the same figures with the counts and the 90th percentiles.",
    },
    "cycles.days_unit": {"zh": "天", "en": " days"},
    "cycles.table": {"zh": "推进周期明细（天）", "en": "Cycle times in days"},
    "cycles.chain": {"zh": "产业链", "en": "Chain"},
    "cycles.count": {"zh": "项目数", "en": "Projects"},
    "cycles.median": {"zh": "中位数", "en": "Median"},
    "cycles.p90": {"zh": "第90百分位", "en": "90th percentile"},
    "cycles.all_chains": {"zh": "全部项目", "en": "All projects"},
    "cycles.none": {"zh": "无", "en": "none"},
    "cycles.empty": {
        "zh": "{period}没有项目完成签约→开工、开工→投产或投产→达产中的任何一步，暂无推进周期可显示。",
        "en": "No project completed a step (signed → started, started → in production or in production → at "
              "capacity) in {period}, so there are no cycle times to show.",
    },
    "cycles.percentile_note": {
        "zh": "中位数和第90百分位数按线性插值计算（与 Excel 的 PERCENTILE.INC 相同），保留一位小数。",
        "en": "Medians and 90th percentiles interpolate linearly between ranks (as Excel's PERCENTILE.INC does), "
              "to 0.1 day.",
    },
}
