"""The import page (导入项目): upload, the dry run's row report, the import, the template workbook."""

MESSAGES: dict[str, dict[str, str]] = {
    "nav.imports": {"zh": "项目导入", "en": "Import"},
    "import.title": {"zh": "导入项目", "en": "Import projects"},
    "import.sub": {"zh": "上传电子表格（.xlsx 或 .csv），先试导入检查每一行，确认无误后再导入。规则与接口 POST /projects/import 相同。",
                   "en": "Upload a spreadsheet (.xlsx or .csv), check every row in a dry run, then import it. The "
                         "rules are those of the API's POST /projects/import."},
    # ------------------------------------------------------------ the template
    "import.template": {"zh": "导入模板", "en": "Template"},
    "import.template_hint": {"zh": "模板的表头与台帐导出相同，并附一行示例（可删除）。已有项目按外部编号匹配：有变化则更新或推进，不会后退。",
                             "en": "The template's headers are those of the ledger export, with one example row (delete "
                                   "it). Existing projects are matched by external ref: changes update them or move "
                                   "them forward, never back."},
    "import.template_zh": {"zh": "下载模板（中文表头）", "en": "Download the template (Chinese headers)"},
    "import.template_en": {"zh": "下载模板（英文表头）", "en": "Download the template (English headers)"},
    "import.template.sheet": {"zh": "项目导入", "en": "Projects"},
    "import.template.ref": {"zh": "示例-0001", "en": "EXAMPLE-0001"},
    "import.template.name": {"zh": "示例：智能制造产业园", "en": "Example: smart manufacturing park"},
    "import.template.investor": {"zh": "示例投资有限公司", "en": "Example Investment Co., Ltd."},
    "import.template.no": {"zh": "否", "en": "no"},
    # ------------------------------------------------------------ upload
    "import.upload": {"zh": "上传文件", "en": "Upload a file"},
    "import.file": {"zh": "电子表格文件（.xlsx 或 .csv）", "en": "Spreadsheet (.xlsx or .csv)"},
    "import.file_hint": {"zh": "不超过 {mib} MiB、{rows} 行。试导入只检查，不写入任何数据。",
                         "en": "At most {mib} MiB and {rows} rows. A dry run only checks: it writes nothing."},
    "import.dry_run": {"zh": "试导入（检查）", "en": "Dry run (check)"},
    "import.no_file": {"zh": "请选择要导入的文件。", "en": "Choose the file to import."},
    "import.too_large": {"zh": "文件太大：上传不能超过 {mib} MiB。", "en": "The file is too large: an upload may be at "
                                                                      "most {mib} MiB."},
    "import.bad_upload": {"zh": "上传内容无法读取，请重新选择文件。", "en": "The upload could not be read; choose the "
                                                                    "file again."},
    "import.not_spreadsheet": {"zh": "不是 .xlsx 或 .csv 电子表格（{detail}）", "en": "Not an .xlsx or .csv "
                                                                                 "spreadsheet: {detail}"},
    # ------------------------------------------------------------ the report
    "import.report": {"zh": "试导入结果", "en": "Dry-run report"},
    "import.result": {"zh": "导入结果", "en": "Import result"},
    "import.file_info": {"zh": "文件 {name}：{rows} 行数据，{projects} 个项目。", "en": "File {name}: {rows} data rows, "
                                                                                "{projects} projects."},
    "import.sha256": {"zh": "文件指纹（SHA-256）", "en": "File fingerprint (SHA-256)"},
    "import.has_errors": {"zh": "文件中有 {n} 处问题，未导入任何数据。请修改后重新上传。",
                          "en": "{n} problem(s) in the file; nothing was imported. Correct them and upload again."},
    "import.file_errors": {"zh": "文件无法导入，未写入任何数据：", "en": "The file cannot be imported; nothing was "
                                                                  "written:"},
    "import.ready": {"zh": "检查通过，可以导入。", "en": "The check passed: the file can be imported."},
    "import.nothing_to_do": {"zh": "检查通过，但文件与台帐一致，导入不会改变任何项目。",
                             "en": "The check passed, but the file matches the ledger: importing changes nothing."},
    "import.summary.create": {"zh": "新建 {n}", "en": "{n} to create"},
    "import.summary.update": {"zh": "更新 {n}", "en": "{n} to update"},
    "import.summary.transition": {"zh": "推进阶段 {n}", "en": "{n} to move forward"},
    "import.summary.unchanged": {"zh": "无变化 {n}", "en": "{n} unchanged"},
    "import.summary.error": {"zh": "有问题 {n}", "en": "{n} with problems"},
    "import.done": {"zh": "已导入：新建 {create}，更新 {update}，推进阶段 {transition}，无变化 {unchanged}。",
                    "en": "Imported: {create} created, {update} updated, {transition} moved forward, {unchanged} "
                          "unchanged."},
    "import.outcome.create": {"zh": "新建", "en": "Create"},
    "import.outcome.update": {"zh": "更新", "en": "Update"},
    "import.outcome.transition": {"zh": "推进阶段", "en": "Move forward"},
    "import.outcome.unchanged": {"zh": "无变化", "en": "Unchanged"},
    "import.outcome.error": {"zh": "有问题", "en": "Problem"},
    "import.rows": {"zh": "逐行结果", "en": "Row by row"},
    "import.col.sheet": {"zh": "工作表", "en": "Sheet"},
    "import.col.row": {"zh": "行号", "en": "Row"},
    "import.col.key": {"zh": "外部编号", "en": "External ref"},
    "import.col.outcome": {"zh": "结果", "en": "Outcome"},
    "import.col.stage": {"zh": "导入后阶段", "en": "Stage after"},
    "import.col.changes": {"zh": "变化", "en": "Changes"},
    "import.col.column": {"zh": "列", "en": "Column"},
    "import.col.problem": {"zh": "问题", "en": "Problem"},
    "import.col.list": {"zh": "清单", "en": "List"},
    "import.problems": {"zh": "问题单元格", "en": "Cells with problems"},
    "import.cell": {"zh": "{column}：{problem}", "en": "{column}: {problem}"},
    "import.whole_row": {"zh": "整行", "en": "whole row"},
    "import.warnings": {"zh": "提示", "en": "Remarks"},
    "import.view": {"zh": "查看项目", "en": "View the project"},
    # ------------------------------------------------------------ the import
    "import.confirm": {"zh": "确认导入", "en": "Import"},
    "import.confirm_file": {"zh": "再次选择同一文件", "en": "Choose the same file again"},
    "import.confirm_file_hint": {"zh": "服务器不保存上传的文件：请再次选择刚检查过的文件，导入前会核对文件指纹，导入时按当前台帐再检查一遍，全部成功或全部不写入。",
                            "en": "The server keeps no upload: choose the file you just checked again. Its fingerprint "
                                  "is compared before importing, and the import checks again against the ledger as it "
                                  "is then: all rows are written, or none."},
    "import.run": {"zh": "导入", "en": "Import"},
    "import.not_same_file": {"zh": "所选文件与试导入的文件不同（文件指纹不符），未导入；以下是该文件的试导入结果。",
                             "en": "That is not the file of the dry run (its fingerprint differs); nothing was "
                                   "imported. Below is this file's dry run."},
    # ------------------------------------------------------------ problems by type (zh; English shows the detail)
    "import.type.missing_value": {"zh": "必填，但为空。", "en": "{detail}"},
    "import.type.invalid_value": {"zh": "格式或取值无效（{detail}）", "en": "{detail}"},
    "import.type.duplicate_external_ref": {"zh": "外部编号在文件中重复（{detail}）", "en": "{detail}"},
    "import.type.forbidden": {"zh": "无权导入此行（{detail}）", "en": "{detail}"},
    "import.type.formula": {"zh": "不接受公式（{detail}）", "en": "{detail}"},
    "import.type.invalid_milestone": {"zh": "里程碑日期有误（{detail}）", "en": "{detail}"},
    "import.type.missing_milestone": {"zh": "缺少里程碑日期（{detail}）", "en": "{detail}"},
    "import.type.milestone_conflict": {"zh": "里程碑日期与台帐不一致（{detail}）", "en": "{detail}"},
    "import.type.empty_file": {"zh": "文件为空，或没有数据行。", "en": "{detail}"},
    "import.type.missing_header": {"zh": "前十行中找不到表头（至少要有三个可识别的列名）。", "en": "{detail}"},
    "import.type.missing_column": {"zh": "缺少这一必需的列。", "en": "{detail}"},
    "import.type.duplicate_column": {"zh": "列名重复（{detail}）", "en": "{detail}"},
    "import.type.too_slow": {"zh": "读取文件超时，请简化或拆分文件后再上传。", "en": "{detail}"},
    "import.limit": {"zh": "文件超出导入限制（{limit}，上限 {max}），请拆分或简化后再上传。", "en": "{detail}"},
    "import.cell.amount": {"zh": "“{text}”不是金额（单位万元，填数字）。", "en": "{detail}"},
    "import.cell.date": {"zh": "“{text}”不是有效日期（YYYY-MM-DD）。", "en": "{detail}"},
    "import.cell.number_date": {"zh": "这是数字而非日期：请把该列设为日期格式，或写成 YYYY-MM-DD。", "en": "{detail}"},
    "import.cell.flag": {"zh": "“{text}”不是“是”或“否”。", "en": "{detail}"},
    "import.type.other": {"zh": "问题：{detail}", "en": "{detail}"},
}
