"""The web frontend's one message catalogue: every text a page shows, as key → {zh, en}.

Templates never hold language-specific text; they call ``t('key', **params)``. zh-CN is the default; the
glossary of ``domain/source-policy.md`` gives the Chinese names (新签约, 月调度, 牵头部门 …).

The catalogue holds the errors' words too; ``service/web/error_text.py`` picks the entry for an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.domain import project_fields as pf
from service.domain.periods import Period, PeriodKind

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
HTML_LANG = {"zh": "zh-CN", "en": "en"}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

MESSAGES: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------ frame
    "app.name": {"zh": "链长制项目台帐", "en": "Chain-leader ledger"},
    "app.footer": {"zh": "金额单位：万元（1 亿元 = 10,000 万元）。日期以北京时间计。",
                   "en": "Amounts in 万元 (10,000 CNY; 1 亿元 = 10,000 万元). Dates in Beijing time."},
    "a11y.skip": {"zh": "跳到主要内容", "en": "Skip to main content"},
    "nav.label": {"zh": "主导航", "en": "Main navigation"},
    "nav.overview": {"zh": "年度总览", "en": "Overview"},
    "nav.ledger": {"zh": "四张清单台帐", "en": "Four-lists ledger"},
    "lang.other": {"zh": "English", "en": "中文"},
    "lang.switch": {"zh": "切换为英文", "en": "Switch to Chinese"},
    "role.admin": {"zh": "管理员", "en": "administrator"},
    "role.department": {"zh": "牵头部门", "en": "lead department"},
    "role.integration": {"zh": "市招商办", "en": "investment promotion office"},
    "role.auditor": {"zh": "审计", "en": "auditor"},
    "role.viewer": {"zh": "只读", "en": "viewer"},
    "common.yes": {"zh": "是", "en": "Yes"},
    "common.no": {"zh": "否", "en": "No"},
    "common.all": {"zh": "全部", "en": "All"},
    "common.none": {"zh": "（空）", "en": "(none)"},
    "common.show": {"zh": "查看", "en": "Show"},
    "common.total": {"zh": "合计", "en": "Total"},
    "common.count": {"zh": "项目数", "en": "Projects"},
    "common.investment": {"zh": "投资（万元）", "en": "Investment (万元)"},
    "common.year": {"zh": "年度", "en": "Year"},
    "common.label": {"zh": "{label}：{value}", "en": "{label}: {value}"},
    "common.readonly": {"zh": "当前角色只能查看，不能修改。", "en": "Your role can view this page but not change it."},
    # ------------------------------------------------------------ sign-in
    "auth.title": {"zh": "登录", "en": "Sign in"},
    "auth.intro": {"zh": "请输入管理员为您签发的访问令牌。", "en": "Enter the access token your administrator issued to you."},
    "auth.token": {"zh": "访问令牌", "en": "Access token"},
    "auth.token_hint": {"zh": "令牌只在登录时校验一次，浏览器不会保存令牌本身。",
                        "en": "The token is checked once to sign you in; the browser never stores the token itself."},
    "auth.submit": {"zh": "登录", "en": "Sign in"},
    "auth.failed": {"zh": "令牌无效或已被吊销。", "en": "The token is unknown or has been revoked."},
    "auth.signout": {"zh": "退出登录", "en": "Sign out"},
    "auth.signed_out": {"zh": "您已退出登录。", "en": "You have signed out."},
    "auth.who": {"zh": "{name}（{role}）", "en": "{name} ({role})"},
    # ------------------------------------------------------------ stages and lists (glossary)
    "stage.signed": {"zh": "新签约", "en": "Signed"},
    "stage.started": {"zh": "新开工", "en": "Started"},
    "stage.in_production": {"zh": "新投产", "en": "In production"},
    "stage.at_capacity": {"zh": "新达产", "en": "At capacity"},
    "stage.cancelled": {"zh": "终止", "en": "Cancelled"},
    # ------------------------------------------------------------ periods
    "period.year": {"zh": "{year}年", "en": "{year}"},
    "period.quarter": {"zh": "{year}年第{q}季度", "en": "Q{q} {year}"},
    "period.month": {"zh": "{year}年{m}月", "en": "{mon} {year}"},
    "period.month_short": {"zh": "{m}月", "en": "{mon}"},
    # ------------------------------------------------------------ overview
    "overview.title": {"zh": "{year}年度总览", "en": "Overview {year}"},
    "overview.chains": {"zh": "各产业链四张清单", "en": "The four lists by chain"},
    "overview.chain": {"zh": "产业链", "en": "Chain"},
    "overview.lead_department": {"zh": "牵头部门", "en": "Lead department"},
    "overview.own": {"zh": "本部门", "en": "yours"},
    "overview.chart": {"zh": "四张清单逐月项目数", "en": "The four lists by month"},
    "overview.chart_title": {"zh": "{year}年四张清单逐月项目数", "en": "Projects on the four lists by month, {year}"},
    "overview.chart_desc": {"zh": "分组柱状图：每月新签约、新开工、新投产、新达产的项目数。",
                            "en": "Grouped bars: the projects newly signed, started, in production and at capacity "
                                  "in each month."},
    "overview.chart_table": {"zh": "以表格查看逐月数据", "en": "Show the monthly figures as a table"},
    "overview.month": {"zh": "月份", "en": "Month"},
    "overview.warnings": {"zh": "预警", "en": "Early warnings"},
    "overview.no_warnings": {"zh": "暂无预警。", "en": "No warnings."},
    "overview.more_warnings": {"zh": "仅显示前 {n} 条。", "en": "Showing the first {n}."},
    # ------------------------------------------------------------ warnings
    "warning.rule": {"zh": "预警类型", "en": "Warning"},
    "warning.project": {"zh": "项目", "en": "Project"},
    "warning.since": {"zh": "起算日期", "en": "Since"},
    "warning.detail": {"zh": "情况", "en": "Detail"},
    "warning.rule.idle_signed": {"zh": "签约后超期未开工", "en": "Signed, not started"},
    "warning.rule.idle_started": {"zh": "开工后超期未投产", "en": "Started, not in production"},
    "warning.rule.idle_in_production": {"zh": "投产后超期未达产", "en": "In production, not at capacity"},
    "warning.rule.no_dispatch": {"zh": "连续未报月调度", "en": "No monthly dispatch figure"},
    "warning.idle": {"zh": "已 {days} 天（阈值 {threshold} 天）", "en": "{days} days (threshold {threshold})"},
    "warning.months": {"zh": "已 {months} 个月无月调度数据", "en": "{months} months without a dispatch figure"},
    # ------------------------------------------------------------ chain page
    "chain.leader": {"zh": "链长", "en": "Chain leader"},
    "chain.lead_department": {"zh": "牵头部门", "en": "Lead department"},
    "chain.benchmark": {"zh": "对标城市", "en": "Benchmark city"},
    "chain.year_tally": {"zh": "{year}年四张清单", "en": "The four lists in {year}"},
    "chain.board": {"zh": "项目看板", "en": "Project board"},
    "chain.board_hint": {"zh": "每张卡片一步转入下一阶段：选好日期，点击按钮。",
                         "en": "Each card moves to its next stage in one step: pick the date, press the button."},
    "chain.board_count": {"zh": "{n} 个", "en": "{n}"},
    "chain.board_more": {"zh": "另有项目未显示，请在台帐中查看。", "en": "More projects are not shown; see the ledger."},
    "chain.move_failed": {"zh": "“{name}”未能变更阶段：", "en": "“{name}” was not moved:"},
    "chain.board_empty": {"zh": "暂无项目", "en": "No projects"},
    "chain.cancelled": {"zh": "已终止项目（{n}）", "en": "Cancelled projects ({n})"},
    "chain.schedule": {"zh": "{year}年跟踪督办日程（月调度 · 季观摩 · 年考评）",
                       "en": "Tracking schedule {year} (monthly dispatch · quarterly inspection · annual appraisal)"},
    "chain.overdue_count": {"zh": "{n} 项已逾期", "en": "{n} overdue"},
    "chain.plan": {"zh": "{year}年度工作计划（一链一表）", "en": "Annual work plan {year} (one chain, one table)"},
    "chain.no_plan": {"zh": "本年度尚未制订工作计划。", "en": "There is no work plan for this year yet."},
    "chain.problems": {"zh": "待解决的突出问题", "en": "Open problems"},
    "chain.no_problems": {"zh": "暂无待解决的突出问题。", "en": "No open problems."},
    "chain.dispatch": {"zh": "月调度填报", "en": "Monthly dispatch"},
    "chain.dispatch_go": {"zh": "打开", "en": "Open"},
    # ------------------------------------------------------------ moves
    "move.to": {"zh": "转入{stage}", "en": "Move to {stage}"},
    "move.on": {"zh": "日期", "en": "Date"},
    "move.note": {"zh": "备注（可选）", "en": "Note (optional)"},
    "move.final": {"zh": "已达产，阶段已完成", "en": "At capacity: no further stage"},
    "move.done": {"zh": "“{name}”已转入{stage}（{on}）。", "en": "“{name}” moved to {stage} on {on}."},
    "move.cancel": {"zh": "终止项目", "en": "Cancel the project"},
    "move.cancel_reason": {"zh": "终止原因", "en": "Reason for cancelling"},
    "move.cancelled": {"zh": "“{name}”已终止。", "en": "“{name}” was cancelled."},
    "move.revert": {"zh": "撤销最近一次阶段变更", "en": "Undo the latest stage change"},
    "move.revert_reason": {"zh": "撤销原因", "en": "Reason for undoing"},
    "move.reverted": {"zh": "已撤销“{name}”最近一次阶段变更，当前阶段：{stage}。",
                      "en": "Undid the latest stage change of “{name}”; its stage is now {stage}."},
    # ------------------------------------------------------------ schedule
    "schedule.kind": {"zh": "事项", "en": "Item"},
    "schedule.period": {"zh": "期间", "en": "Period"},
    "schedule.due": {"zh": "截止日期", "en": "Due"},
    "schedule.status": {"zh": "状态", "en": "Status"},
    "schedule.done_at": {"zh": "完成时间", "en": "Done"},
    "schedule.moved": {"zh": "遇节假日顺延", "en": "moved past a holiday"},
    "schedule.provisional": {"zh": "暂定", "en": "provisional"},
    "schedule.kind.monthly_dispatch": {"zh": "月调度", "en": "Monthly dispatch"},
    "schedule.kind.quarterly_inspection": {"zh": "季观摩", "en": "Quarterly inspection"},
    "schedule.kind.annual_appraisal": {"zh": "年考评", "en": "Annual appraisal"},
    "schedule.status.upcoming": {"zh": "未到期", "en": "Upcoming"},
    "schedule.status.open": {"zh": "待完成", "en": "Open"},
    "schedule.status.done": {"zh": "已完成", "en": "Done"},
    "schedule.status.done_late": {"zh": "逾期完成", "en": "Done late"},
    "schedule.status.overdue": {"zh": "已逾期", "en": "Overdue"},
    "schedule.fill": {"zh": "填报", "en": "Fill in"},
    "schedule.view": {"zh": "查看", "en": "View"},
    # ------------------------------------------------------------ plans
    "plan.status.draft": {"zh": "草稿（未批准）", "en": "Draft (not approved)"},
    "plan.status.approved": {"zh": "已批准", "en": "Approved"},
    "plan.revision": {"zh": "第 {n} 版", "en": "revision {n}"},
    "plan.expected": {"zh": "时序进度 {pct}", "en": "Expected by now: {pct}"},
    "plan.indicators": {"zh": "实物量指标", "en": "Physical-quantity indicators"},
    "plan.indicator": {"zh": "指标", "en": "Indicator"},
    "plan.actual_target": {"zh": "完成 / 目标", "en": "Actual / target"},
    "plan.completion": {"zh": "完成率", "en": "Completion"},
    "plan.bar_label": {"zh": "完成 {completion}，时序进度 {expected}", "en": "{completion} done, {expected} expected"},
    "plan.gap": {"zh": "与{city}相比 {gap}", "en": "{gap} against {city}"},
    "plan.progress.ahead": {"zh": "超前", "en": "Ahead"},
    "plan.progress.on_track": {"zh": "正常", "en": "On track"},
    "plan.progress.behind": {"zh": "滞后", "en": "Behind"},
    "plan.tasks": {"zh": "年度工作任务", "en": "Annual tasks"},
    "plan.task": {"zh": "任务", "en": "Task"},
    "plan.owner": {"zh": "责任单位", "en": "Responsible unit"},
    "plan.due": {"zh": "完成时限", "en": "Due"},
    "plan.task.open": {"zh": "进行中", "en": "Open"},
    "plan.task.done": {"zh": "已完成", "en": "Done"},
    "plan.task.overdue": {"zh": "已逾期", "en": "Overdue"},
    # ------------------------------------------------------------ problems
    "problem.title": {"zh": "问题", "en": "Problem"},
    "problem.owner": {"zh": "责任单位", "en": "Responsible unit"},
    "problem.due": {"zh": "办结时限", "en": "Due"},
    "problem.status": {"zh": "状态", "en": "Status"},
    "problem.project": {"zh": "相关项目", "en": "Project"},
    "problem.overdue": {"zh": "已逾期", "en": "Overdue"},
    "problem.status.open": {"zh": "待处理", "en": "Open"},
    "problem.status.in_progress": {"zh": "处理中", "en": "In progress"},
    "problem.status.resolved": {"zh": "已解决", "en": "Resolved"},
    "problem.status.closed": {"zh": "已销号", "en": "Closed"},
    "problem.status.reopened": {"zh": "重新打开", "en": "Reopened"},
    # ------------------------------------------------------------ ledger
    "ledger.title": {"zh": "四张清单台帐", "en": "Four-lists ledger"},
    "ledger.period": {"zh": "期间", "en": "Period"},
    "ledger.period_hint": {"zh": "如 2026、2026-Q2 或 2026-05", "en": "e.g. 2026, 2026-Q2 or 2026-05"},
    "ledger.chain": {"zh": "产业链", "en": "Chain"},
    "ledger.district": {"zh": "区 / 开发区", "en": "District / zone"},
    "ledger.key": {"zh": "重点项目", "en": "Key projects"},
    "ledger.major": {"zh": "亿元以上项目", "en": "Major projects (≥ 1 亿元)"},
    "ledger.apply": {"zh": "查询", "en": "Apply"},
    "ledger.export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
    "ledger.export_xlsx": {"zh": "导出 Excel", "en": "Export Excel"},
    "ledger.exports": {"zh": "导出（包含全部项目，中文表头）", "en": "Export (every project, zh-CN headers)"},
    "ledger.range": {"zh": "{start} 至 {end}", "en": "{start} to {end}"},
    "ledger.tally": {"zh": "{count} 个项目，计划投资 {investment} 万元", "en": "{count} projects, {investment} 万元 planned"},
    "ledger.truncated": {"zh": "仅显示前 {n} 个；导出文件包含全部项目。",
                         "en": "Showing the first {n}; the export has every project."},
    "ledger.empty": {"zh": "本期无项目。", "en": "No projects in this period."},
    "col.name": {"zh": "项目名称", "en": "Project"},
    "col.chain": {"zh": "产业链", "en": "Chain"},
    "col.district": {"zh": "区", "en": "District"},
    "col.investor": {"zh": "投资方", "en": "Investor"},
    "col.planned": {"zh": "计划投资（万元）", "en": "Planned (万元)"},
    "col.on": {"zh": "日期", "en": "Date"},
    "col.stage": {"zh": "当前阶段", "en": "Current stage"},
    "flag.key": {"zh": "重点", "en": "Key"},
    "flag.major": {"zh": "亿元以上", "en": "Major"},
    # ------------------------------------------------------------ project page
    "project.details": {"zh": "基本信息", "en": "Details"},
    "project.milestones": {"zh": "节点日期", "en": "Milestones"},
    "project.voided": {"zh": "该项目已作废（{at}）：{reason}", "en": "This project was voided ({at}): {reason}"},
    "project.cancelled": {"zh": "该项目已于 {on} 终止：{reason}", "en": "This project was cancelled on {on}: {reason}"},
    "project.actions": {"zh": "阶段操作", "en": "Stage actions"},
    "project.history": {"zh": "变更记录", "en": "History"},
    "project.history_more": {"zh": "仅显示最早的 {n} 条记录。", "en": "Showing the earliest {n} events."},
    "project.chain_link": {"zh": "返回产业链看板", "en": "Back to the chain's board"},
    "history.by": {"zh": "{name}（{role}）", "en": "{name} ({role})"},
    "history.note": {"zh": "备注", "en": "Note"},
    "history.reason": {"zh": "原因", "en": "Reason"},
    "action.project.created": {"zh": "创建项目", "en": "Created"},
    "action.project.updated": {"zh": "修改信息", "en": "Details changed"},
    "action.project.transitioned": {"zh": "阶段变更", "en": "Stage changed"},
    "action.project.reverted": {"zh": "撤销阶段变更", "en": "Stage change undone"},
    "action.project.voided": {"zh": "作废", "en": "Voided"},
    "action.project.investment_recorded": {"zh": "月调度投资入账", "en": "Dispatch investment recorded"},
    # ------------------------------------------------------------ dispatch
    "dispatch.title": {"zh": "{chain} · {month}月调度", "en": "Monthly dispatch · {chain} · {month}"},
    "dispatch.state.new": {"zh": "未填报", "en": "Not started"},
    "dispatch.state.draft": {"zh": "草稿", "en": "Draft"},
    "dispatch.state.submitted": {"zh": "已提交", "en": "Submitted"},
    "dispatch.due": {"zh": "截止日期 {due}", "en": "Due {due}"},
    "dispatch.submitted_at": {"zh": "提交于 {at}", "en": "Submitted {at}"},
    "dispatch.late": {"zh": "逾期提交", "en": "Submitted late"},
    "dispatch.on_time": {"zh": "按期提交", "en": "Submitted on time"},
    "dispatch.amendments": {"zh": "已更正 {n} 次", "en": "Amended {n} times"},
    "dispatch.summary": {"zh": "本月工作综述", "en": "Summary of the month"},
    "dispatch.entries": {"zh": "项目月度情况", "en": "Projects this month"},
    "dispatch.entries_hint": {"zh": "只填写本月有进展的项目；投资额和进展都留空的行不会报送。",
                              "en": "Fill in the projects with news this month; rows with neither an amount nor "
                                    "progress are left out."},
    "dispatch.invested": {"zh": "本月完成投资（万元）", "en": "Invested this month (万元)"},
    "dispatch.progress": {"zh": "进展情况", "en": "Progress"},
    "dispatch.problems": {"zh": "存在问题（每行一条）", "en": "Problems (one per line)"},
    "dispatch.amend_reason": {"zh": "更正原因", "en": "Reason for the amendment"},
    "dispatch.amend_hint": {"zh": "本月调度已提交：修改须填写更正原因，并记为一次更正。",
                            "en": "This dispatch is submitted: a change needs a reason and is recorded as an "
                                  "amendment."},
    "dispatch.save": {"zh": "保存草稿", "en": "Save draft"},
    "dispatch.submit": {"zh": "保存并提交", "en": "Save and submit"},
    "dispatch.amend": {"zh": "保存更正", "en": "Save the amendment"},
    "dispatch.saved": {"zh": "{month}月调度草稿已保存。", "en": "The dispatch draft for {month} was saved."},
    "dispatch.submitted": {"zh": "{month}月调度已提交。", "en": "The dispatch for {month} was submitted."},
    "dispatch.amended": {"zh": "{month}月调度更正已保存。", "en": "The amendment of the dispatch for {month} was saved."},
    "dispatch.back": {"zh": "返回产业链", "en": "Back to the chain"},
    "dispatch.month": {"zh": "月份", "en": "Month"},
    # ------------------------------------------------------------ errors: frame
    "error.title": {"zh": "无法完成操作", "en": "This could not be done"},
    "error.fix": {"zh": "请修正以下问题：", "en": "Please correct the following:"},
    "error.csrf": {"zh": "表单已过期或并非来自本站，请刷新页面后重试。",
                   "en": "The form has expired or did not come from this site; reload the page and try again."},
    "error.back": {"zh": "返回年度总览", "en": "Back to the overview"},
    "error.field": {"zh": "{field}：{message}", "en": "{field}: {message}"},
    # ------------------------------------------------------------ errors: by class (fallbacks)
    "err.not_found": {"zh": "未找到该记录。", "en": "Not found."},
    "err.conflict": {"zh": "与当前状态冲突。", "en": "This conflicts with the current state."},
    "err.forbidden": {"zh": "当前令牌无权执行此操作。", "en": "Your token may not do this."},
    "err.invalid": {"zh": "输入有误。", "en": "Invalid input."},
    "err.stale": {"zh": "该记录已被他人修改，请刷新页面后重试。",
                  "en": "Someone else changed this record meanwhile; reload the page and try again."},
    "err.precondition": {"zh": "缺少版本信息，请刷新页面后重试。", "en": "The form lacks the record's version; reload the page."},
    "err.unauthenticated": {"zh": "请重新登录。", "en": "Please sign in again."},
    "err.idempotency": {"zh": "同一操作正在处理中，请稍后重试。", "en": "The same request is in progress; try again later."},
    "err.concurrent": {"zh": "有其他修改同时进行，请刷新页面后重试。",
                       "en": "A concurrent change got there first; reload the page and try again."},
    "err.other": {"zh": "操作未能完成：{detail}", "en": "{detail}"},
    # ------------------------------------------------------------ errors: by message
    "err.not_found_project": {"zh": "未找到项目 {id}。", "en": "There is no project {id}."},
    "err.not_found_chain": {"zh": "未找到产业链 {code}。", "en": "There is no chain {code}."},
    "err.forbidden_chain": {"zh": "本令牌仅可操作产业链 {chains}，不能操作产业链 {chain}。",
                            "en": "This token acts for chain(s) {chains} only, not for chain {chain}."},
    "err.forbidden_role": {"zh": "{role}角色无权执行此操作。", "en": "The {role} role may not do this."},
    "err.date_future": {"zh": "{day} 晚于今天（{today}）。", "en": "{day} is in the future (today is {today})."},
    "err.date_before_previous": {"zh": "{day} 早于上一节点日期 {previous}。",
                                 "en": "{day} is before the previous milestone {previous}."},
    "err.reason_required_cancel": {"zh": "终止项目须填写原因。", "en": "A reason is required to cancel a project."},
    "err.invalid_transition": {"zh": "当前阶段为{current}，不能转入{target}；可转入：{allowed}。",
                               "en": "At stage {current} the project cannot move to {target}; allowed: {allowed}."},
    "err.stage_final": {"zh": "项目已处于最终阶段（{current}），不能再变更。",
                        "en": "The project is at a final stage ({current}); it cannot move any more."},
    "err.project_voided": {"zh": "该项目已作废，不能再变更。", "en": "The project is voided; it can no longer change."},
    "err.nothing_to_revert": {"zh": "该项目没有可撤销的阶段变更。", "en": "The project has no stage change to undo."},
    "err.amend_reason_required": {"zh": "{month}月调度已提交，修改须填写更正原因。",
                                  "en": "The dispatch for {month} is submitted: a change needs a reason."},
    "err.amend_reason_not_allowed": {"zh": "草稿无须填写更正原因。", "en": "A draft needs no amendment reason."},
    "err.period_not_begun": {"zh": "{period}尚未开始（{start} 开始）。", "en": "{period} has not begun yet (it begins {start})."},
    "err.already_submitted": {"zh": "{month}月调度已提交，不能重复提交；如需修改，请填写更正原因后保存更正。",
                              "en": "The dispatch for {month} is already submitted; to change it, save an amendment "
                                    "with a reason."},
    "err.entry_other_chain": {"zh": "项目 {id} 属于产业链 {other}，不属于 {chain}。",
                              "en": "Project {id} belongs to chain {other}, not {chain}."},
    "err.entry_unknown": {"zh": "项目 {id} 不存在。", "en": "There is no project {id}."},
    "err.entry_voided": {"zh": "项目 {id} 已作废。", "en": "Project {id} is voided."},
    "err.entry_duplicate": {"zh": "项目 {id} 重复填报。", "en": "Project {id} is entered twice."},
    "err.period_invalid": {"zh": "“{text}”不是有效期间，请使用 YYYY、YYYY-Qn 或 YYYY-MM。",
                           "en": "“{text}” is not a period: use YYYY, YYYY-Qn or YYYY-MM."},
    "err.year_range": {"zh": "年份 {year} 超出 1990–2100。", "en": "Year {year} is outside 1990–2100."},
    "err.not_a_month": {"zh": "“{text}”不是月份，请使用 YYYY-MM。", "en": "“{text}” is not a month: use YYYY-MM."},
    # ------------------------------------------------------------ errors: validation (pydantic types)
    "val.required": {"zh": "必填。", "en": "Required."},
    "val.too_long": {"zh": "不能超过 {max} 个字符。", "en": "At most {max} characters."},
    "val.ge": {"zh": "不能小于 {limit}。", "en": "Must be at least {limit}."},
    "val.le": {"zh": "不能大于 {limit}。", "en": "Must be at most {limit}."},
    "val.number": {"zh": "请输入数字，如 12500.50。", "en": "Enter a number such as 12500.50."},
    "val.places": {"zh": "最多两位小数。", "en": "At most two decimals."},
    "val.digits": {"zh": "数值过大。", "en": "The number is too large."},
    "val.date": {"zh": "请输入有效日期（YYYY-MM-DD）。", "en": "Enter a valid date (YYYY-MM-DD)."},
    "val.date_early": {"zh": "日期不能早于 1990-01-01。", "en": "The date must be on or after 1990-01-01."},
    "val.text": {"zh": "不能包含控制字符、零宽字符或文字方向控制字符。",
                 "en": "Must not hold control, zero-width or direction-formatting characters."},
    "val.choice": {"zh": "无效的选项。", "en": "Not one of the choices."},
    "val.too_many": {"zh": "条目过多。", "en": "Too many items."},
    "val.invalid": {"zh": "无效的值。", "en": "Invalid value."},
    # ------------------------------------------------------------ field labels (errors and history)
    "field.on": {"zh": "日期", "en": "Date"},
    "field.to": {"zh": "目标阶段", "en": "Target stage"},
    "field.note": {"zh": "备注", "en": "Note"},
    "field.reason": {"zh": "原因", "en": "Reason"},
    "field.version": {"zh": "版本", "en": "Version"},
    "field.summary": {"zh": "本月工作综述", "en": "Summary"},
    "field.amend_reason": {"zh": "更正原因", "en": "Amendment reason"},
    "field.entries": {"zh": "项目月度情况", "en": "Projects"},
    "field.invested": {"zh": "本月完成投资", "en": "Invested"},
    "field.progress": {"zh": "进展情况", "en": "Progress"},
    "field.problems": {"zh": "存在问题", "en": "Problems"},
    "field.project_id": {"zh": "项目", "en": "Project"},
    "field.period": {"zh": "期间", "en": "Period"},
    "field.year": {"zh": "年度", "en": "Year"},
    "field.key": {"zh": "重点项目", "en": "Key"},
    # A project's fields are labelled by their one definition (service/domain/project_fields.py).
    **{f"field.{f.name}": {"zh": f.zh, "en": f.en} for f in pf.FIELDS},
}


def translate(lang: str, key: str, **params: Any) -> str:
    """The catalogue's text of ``key`` in ``lang``, with ``{name}`` placeholders filled from ``params``."""
    text = MESSAGES[key][lang]
    return text.format(**params) if params else text


def translator(lang: str) -> Callable[..., str]:
    def t(key: str, **params: Any) -> str:
        return translate(lang, key, **params)

    return t


def lang_or_default(value: object) -> str:
    return value if isinstance(value, str) and value in LANGS else DEFAULT_LANG


def period_label(lang: str, period: Period) -> str:
    if period.kind is PeriodKind.YEAR:
        return translate(lang, "period.year", year=period.year)
    if period.kind is PeriodKind.QUARTER:
        return translate(lang, "period.quarter", year=period.year, q=period.index)
    return translate(lang, "period.month", year=period.year, m=period.index, mon=_MONTHS_EN[period.index - 1])


def month_short(lang: str, month: int) -> str:
    return translate(lang, "period.month_short", m=month, mon=_MONTHS_EN[month - 1])
