"""Every label, title, legend entry and caption of the charts and the report, in English and Vietnamese.

One table, ``STRINGS``: key -> {"en": ..., "vi": ...}. Templates use ``str.format`` fields
(``{place}``, ``{date}``, ...). ``tr(key, lang, **fields)`` picks the language; the tests check that
both languages have every key and that every character has a glyph in DejaVu Sans.

Place names keep their diacritics (they come from ``diffusion.foundation.sources.places()``, in Unicode NFC);
scenario and lever names from a config are shown as written.
"""

from __future__ import annotations

import math
import unicodedata

from diffusion.foundation.strings_decision import DECISION_STRINGS
from diffusion.foundation.strings_units import UNIT_STRINGS

LANGUAGES: tuple[str, ...] = ("en", "vi")

STRINGS: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------ indicators (long and short)
    "metric.share_smartphone": {"en": "Households with a smartphone", "vi": "Hộ có điện thoại thông minh"},
    "metric.share_mobile_data": {"en": "Households using mobile data", "vi": "Hộ dùng dữ liệu di động"},
    "metric.share_fibre": {"en": "Households with fibre broadband", "vi": "Hộ có internet cáp quang"},
    "metric.share_internet": {"en": "Households using the internet (mobile data or fibre)",
                              "vi": "Hộ sử dụng internet (di động hoặc cáp quang)"},
    "metric.share_services": {"en": "Households using digital services",
                              "vi": "Hộ sử dụng dịch vụ số"},
    "metric.share_working_age_smartphone": {"en": "Working-age people using a smartphone",
                                            "vi": "Người trong độ tuổi lao động dùng điện thoại thông minh"},
    "short.share_smartphone": {"en": "Smartphone", "vi": "Điện thoại thông minh"},
    "short.share_mobile_data": {"en": "Mobile data", "vi": "Dữ liệu di động"},
    "short.share_fibre": {"en": "Fibre broadband", "vi": "Cáp quang"},
    "short.share_internet": {"en": "Internet (any)", "vi": "Internet (bất kỳ)"},
    "short.share_services": {"en": "Digital services", "vi": "Dịch vụ số"},
    "short.share_working_age_smartphone": {"en": "Working-age smartphone users",
                                           "vi": "Người lao động dùng điện thoại"},
    # ------------------------------------------------------------------ levers (by kind)
    "lever.smartphone_subsidy": {"en": "Smartphone subsidy", "vi": "Hỗ trợ mua điện thoại thông minh"},
    "lever.connection_support": {"en": "Broadband connection support", "vi": "Hỗ trợ kết nối cáp quang"},
    "lever.digital_teams": {"en": "Community digital teams", "vi": "Tổ công nghệ số cộng đồng"},
    "lever.infrastructure": {"en": "Infrastructure rollout", "vi": "Phát triển hạ tầng"},
    "lever.public_access": {"en": "Public access point", "vi": "Điểm truy cập internet công cộng"},
    # ------------------------------------------------------------------ descriptive place presets
    "place.commune": {"en": "generic commune", "vi": "xã điển hình"},
    "place.well_mixed": {"en": "well-mixed test population", "vi": "quần thể kiểm định trộn đều"},
    # ------------------------------------------------------------------ groups
    "group.q1": {"en": "Q1 (poorest)", "vi": "Nhóm 1 (nghèo nhất)"},
    "group.q2": {"en": "Q2", "vi": "Nhóm 2"},
    "group.q3": {"en": "Q3", "vi": "Nhóm 3"},
    "group.q4": {"en": "Q4", "vi": "Nhóm 4"},
    "group.q5": {"en": "Q5 (richest)", "vi": "Nhóm 5 (giàu nhất)"},
    "group.age_under_35": {"en": "under 35", "vi": "dưới 35 tuổi"},
    "group.age_35_49": {"en": "35–49", "vi": "35–49 tuổi"},
    "group.age_50_64": {"en": "50–64", "vi": "50–64 tuổi"},
    "group.age_65_plus": {"en": "65 and over", "vi": "từ 65 tuổi"},
    "grouping.income": {"en": "Income quintile (income per person)",
                        "vi": "Nhóm thu nhập (thu nhập bình quân đầu người)"},
    "grouping.age": {"en": "Age of household head (years)", "vi": "Tuổi chủ hộ (năm)"},
    # ------------------------------------------------------------------ axes (always with units)
    "axis.year": {"en": "Year (calendar)", "vi": "Năm (dương lịch)"},
    "axis.month": {"en": "Month (month/year)", "vi": "Tháng (tháng/năm)"},
    "axis.households_count": {"en": "Households (count)", "vi": "Số hộ (hộ)"},
    "axis.vnd_per_household": {"en": "Million VND per household", "vi": "Triệu đồng mỗi hộ"},
    "axis.households_pct": {"en": "Households (%)", "vi": "Hộ gia đình (%)"},
    "axis.index": {"en": "Sobol index (0–1)", "vi": "Chỉ số Sobol (0–1)"},
    "axis.share_households": {"en": "Share of households (%)", "vi": "Tỷ lệ hộ (%)"},
    "axis.share_people": {"en": "Working-age people (%)", "vi": "Người trong tuổi lao động (%)"},
    "axis.cum_spending": {"en": "Cumulative spending (million VND)", "vi": "Chi tiêu lũy kế (triệu đồng)"},
    "axis.value_at": {"en": "Projected value in {date} (%)", "vi": "Giá trị dự báo tháng {date} (%)"},
    "axis.hamlet": {"en": "Hamlet", "vi": "Thôn"},
    "axis.hamlets_n": {"en": "Hamlets ({n}, in file order)", "vi": "Thôn ({n}, theo thứ tự trong tệp)"},
    "axis.scenario": {"en": "Scenario", "vi": "Kịch bản"},
    "axis.factor": {"en": "Factor (parameter or lever)", "vi": "Yếu tố (tham số hoặc chính sách)"},
    "axis.mu_star": {"en": "μ*: mean absolute elementary effect (outcome units)",
                     "vi": "μ*: trung bình trị tuyệt đối hiệu ứng cơ bản (đơn vị kết quả)"},
    "axis.sigma": {"en": "σ: std. dev. of elementary effects (outcome units)",
                   "vi": "σ: độ lệch chuẩn hiệu ứng cơ bản (đơn vị kết quả)"},
    "axis.posterior_weight": {"en": "Posterior weight (% per bin)", "vi": "Trọng số (% mỗi khoảng)"},
    "axis.parameter_value": {"en": "{parameter} (parameter units)", "vi": "{parameter} (đơn vị tham số)"},
    "axis.share_generic": {"en": "Share (%)", "vi": "Tỷ lệ (%)"},
    "colorbar.share": {"en": "{indicator}: share of households (%)", "vi": "{indicator}: tỷ lệ hộ (%)"},
    # ------------------------------------------------------------------ legend entries
    "legend.median": {"en": "Median over runs", "vi": "Trung vị các lần chạy"},
    "legend.band50": {"en": "50% interval", "vi": "Khoảng 50%"},
    "legend.band90": {"en": "90% interval", "vi": "Khoảng 90%"},
    "legend.target": {"en": "Resolution 09 target: {share} by {date}", "vi": "Mục tiêu NQ 09: {share} vào {date}"},
    "legend.target_short": {"en": "Resolution 09 target", "vi": "Mục tiêu Nghị quyết 09"},
    "legend.observed": {"en": "Observed: {place}, {value} ({date}; {source})",
                        "vi": "Quan sát: {place}, {value} ({date}; {source})"},
    "legend.observed_plain": {"en": "Observed", "vi": "Số liệu quan sát"},
    "legend.bound": {"en": "Bound (▲ at least, ▼ at most)", "vi": "Ngưỡng (▲ tối thiểu, ▼ tối đa)"},
    "legend.reference": {"en": "{name} (reference)", "vi": "{name} (tham chiếu)"},
    "legend.S1": {"en": "First-order S1", "vi": "Bậc một S1"},
    "legend.ST": {"en": "Total-order ST", "vi": "Toàn phần ST"},
    "legend.identity": {"en": "σ = μ*", "vi": "σ = μ*"},
    "legend.predictive": {"en": "Posterior predictive median", "vi": "Trung vị dự báo hậu nghiệm"},
    "legend.posterior_median": {"en": "Weighted median", "vi": "Trung vị có trọng số"},
    "legend.ci90": {"en": "90% credible interval", "vi": "Khoảng tin cậy 90%"},
    "legend.prior": {"en": "Prior range", "vi": "Miền tiên nghiệm"},
    "legend.pr_median": {"en": "Median over runs", "vi": "Trung vị các lần chạy"},
    "legend.pr_50": {"en": "50% of runs", "vi": "50% số lần chạy"},
    "legend.pr_90": {"en": "90% of runs", "vi": "90% số lần chạy"},
    "legend.pr_hollow": {"en": "Hollow: median misses the target", "vi": "Rỗng: trung vị chưa đạt mục tiêu"},
    "note.no_additional": {"en": "no additional adopters", "vi": "không có hộ tăng thêm"},
    "note.met": {"en": "met in {k}/{n} runs", "vi": "đạt trong {k}/{n} lần chạy"},
    "note.reached": {"en": "reached {date}", "vi": "đạt vào {date}"},
    "note.not_reached": {"en": "not reached by {date}", "vi": "chưa đạt đến {date}"},
    "note.run_ends": {"en": "run ends {date}, before the target date", "vi": "mô phỏng kết thúc {date}, trước hạn"},
    "note.mean_stack": {"en": "mean over runs", "vi": "trung bình các lần chạy"},
    # ------------------------------------------------------------------ chart titles
    "title.adoption": {"en": "{indicator}{place}", "vi": "{indicator}{place}"},
    "title.scenarios": {"en": "Adoption by scenario{place}", "vi": "Mức độ sử dụng theo kịch bản{place}"},
    "title.additional": {"en": "Additional adopting households vs {reference}, {date}",
                         "vi": "Số hộ sử dụng tăng thêm so với {reference}, {date}"},
    "title.cost_effectiveness": {"en": "Cost per additional adopting household vs {reference}, {date}",
                                 "vi": "Chi phí cho mỗi hộ sử dụng tăng thêm so với {reference}, {date}"},
    "title.spending": {"en": "Programme spending over time, by lever",
                       "vi": "Chi tiêu chương trình theo thời gian, theo chính sách"},
    "title.by_income": {"en": "Adoption by income quintile, {date}",
                        "vi": "Mức độ sử dụng theo nhóm thu nhập, {date}"},
    "title.by_age": {"en": "Adoption by age of household head, {date}",
                     "vi": "Mức độ sử dụng theo tuổi chủ hộ, {date}"},
    "title.by_hamlet": {"en": "{indicator} by hamlet (median over runs)",
                        "vi": "{indicator} theo thôn (trung vị các lần chạy)"},
    "title.dashboard": {"en": "Resolution 09 targets: projected values at the target date",
                        "vi": "Mục tiêu Nghị quyết 09: giá trị dự báo tại thời hạn"},
    "title.sobol": {"en": "Sobol sensitivity indices: share of output variance (whiskers: confidence intervals)",
                    "vi": "Chỉ số độ nhạy Sobol: tỷ lệ phương sai đầu ra (râu: khoảng tin cậy)"},
    "title.morris": {"en": "Morris screening: μ* against σ", "vi": "Sàng lọc Morris: μ* và σ"},
    "title.calibration_fit": {"en": "Calibration: observed values and posterior predictions",
                              "vi": "Hiệu chỉnh: số liệu quan sát và dự báo hậu nghiệm"},
    "title.posterior": {"en": "Calibration: posterior distributions of the parameters",
                        "vi": "Hiệu chỉnh: phân phối hậu nghiệm của các tham số"},
    # ------------------------------------------------------------------ captions (report)
    "caption.adoption": {
        "en": "{indicator}{place}, one panel per scenario. Line: median over {runs} runs; dark band: 50% and "
              "light band: 90% of runs. Dashed line: Resolution 09 target where one applies; markers: observed "
              "values with their source.",
        "vi": "{indicator}{place}, mỗi ô một kịch bản. Đường: trung vị của {runs} lần chạy; dải đậm: 50% và "
              "dải nhạt: 90% số lần chạy. Đường nét đứt: mục tiêu Nghị quyết 09 (nếu có); điểm: số liệu quan sát "
              "kèm nguồn."},
    "caption.scenarios": {
        "en": "Median share over runs for each scenario (one colour, line style and marker per scenario); shaded: "
              "50% of runs. Dashed line: Resolution 09 target where one applies.",
        "vi": "Trung vị tỷ lệ của các lần chạy theo kịch bản (mỗi kịch bản một màu, kiểu đường và ký hiệu); vùng "
              "tô: 50% số lần chạy. Đường nét đứt: mục tiêu Nghị quyết 09 (nếu có)."},
    "caption.additional": {
        "en": "Households using each product in {date} beyond the reference scenario {reference}, paired run by "
              "run (common random numbers). Dot: median; thick bar: 50%; thin bar: 90% of runs.",
        "vi": "Số hộ sử dụng mỗi sản phẩm vào {date} tăng thêm so với kịch bản tham chiếu {reference}, so sánh "
              "từng cặp lần chạy (cùng số ngẫu nhiên). Chấm: trung vị; vạch đậm: 50%; vạch mảnh: 90% số lần chạy."},
    "caption.cost_effectiveness": {
        "en": "Cumulative programme spending beyond {reference} divided by the additional households using the "
              "product in {date}, per run. Dot: median; thick bar: 50%; thin bar: 90% of runs. Runs with no "
              "additional households are left out.",
        "vi": "Chi tiêu lũy kế vượt {reference} chia cho số hộ sử dụng tăng thêm vào {date}, theo từng lần chạy. "
              "Chấm: trung vị; vạch đậm: 50%; vạch mảnh: 90% số lần chạy. Bỏ qua các lần chạy không có hộ "
              "tăng thêm."},
    "caption.spending": {
        "en": "Cumulative spending by lever (mean over runs, stacked), one panel per scenario with spending.",
        "vi": "Chi tiêu lũy kế theo chính sách (trung bình các lần chạy, xếp chồng), mỗi ô một kịch bản có chi tiêu."},
    "caption.by_income": {
        "en": "Share of households using each product in {date} by income quintile, per scenario. Marker: median; "
              "bar: 90% of runs.",
        "vi": "Tỷ lệ hộ sử dụng mỗi sản phẩm vào {date} theo nhóm thu nhập và kịch bản. Điểm: trung vị; vạch: 90% "
              "số lần chạy."},
    "caption.by_age": {
        "en": "Share of households using each product in {date} by age of the household head, per scenario. "
              "Marker: median; bar: 90% of runs.",
        "vi": "Tỷ lệ hộ sử dụng mỗi sản phẩm vào {date} theo tuổi chủ hộ và kịch bản. Điểm: trung vị; vạch: 90% "
              "số lần chạy."},
    "caption.by_hamlet": {
        "en": "{indicator} in each hamlet over time (median over runs), one panel per scenario; lighter is higher.",
        "vi": "{indicator} ở từng thôn theo thời gian (trung vị các lần chạy), mỗi ô một kịch bản; màu càng sáng "
              "tỷ lệ càng cao."},
    "caption.dashboard": {
        "en": "Each Resolution 09 target: projected value at the target date per scenario (dot: median; thick bar: "
              "50%; thin bar: 90% of runs; filled dot: median meets the target), the share of runs that meet it, "
              "and the median month it is reached.",
        "vi": "Mỗi mục tiêu Nghị quyết 09: giá trị dự báo tại thời hạn theo kịch bản (chấm: trung vị; vạch đậm: "
              "50%; vạch mảnh: 90% số lần chạy; chấm đặc: trung vị đạt mục tiêu), tỷ lệ lần chạy đạt và tháng "
              "đạt (trung vị)."},
    "caption.sobol": {
        "en": "First-order (S1) and total-order (ST) Sobol indices per outcome with their confidence intervals.",
        "vi": "Chỉ số Sobol bậc một (S1) và toàn phần (ST) theo kết quả, kèm khoảng tin cậy."},
    "caption.morris": {
        "en": "Morris screening per outcome: factors far to the right matter; far up, they act non-linearly or "
              "interact.",
        "vi": "Sàng lọc Morris theo kết quả: yếu tố càng bên phải càng quan trọng; càng lên cao càng phi tuyến hoặc "
              "tương tác."},
    "caption.calibration_fit": {
        "en": "Observed values (markers; bars: 90% binomial interval where the number of households is known) "
              "against the posterior predictive median and 90% band.",
        "vi": "Số liệu quan sát (điểm; vạch: khoảng nhị thức 90% nếu biết số hộ) so với trung vị và dải 90% dự "
              "báo hậu nghiệm."},
    "caption.posterior": {
        "en": "Weighted posterior of each calibrated parameter: histogram, weighted median and 90% credible "
              "interval.",
        "vi": "Phân phối hậu nghiệm có trọng số của mỗi tham số hiệu chỉnh: tần suất, trung vị và khoảng tin cậy "
              "90%."},
    # ------------------------------------------------------------------ report
    "report.title": {"en": "Experiment report: {name}", "vi": "Báo cáo thí nghiệm: {name}"},
    "report.generated": {"en": "Generated by diffusion {version} from the results in `{folder}`.",
                         "vi": "Tạo bởi diffusion {version} từ kết quả trong `{folder}`."},
    "report.answer": {"en": "1. The answer", "vi": "1. Câu trả lời"},
    "report.no_description": {"en": "(The configuration gives no description.)",
                              "vi": "(Tệp cấu hình không có mô tả.)"},
    "report.setup": {"en": "4. Set-up", "vi": "4. Thiết lập"},
    "report.population": {"en": "Population", "vi": "Dân số mô phỏng"},
    "report.place_line": {"en": "{name}: {households} households in {hamlets} hamlet(s) of {communes} commune(s). "
                                "Basis: {basis}. Source: {source}",
                          "vi": "{name}: {households} hộ ở {hamlets} thôn thuộc {communes} xã. Căn cứ: {basis}. "
                                "Nguồn: {source}"},
    "report.period": {"en": "Simulated period: {start} to {end} ({months} months), {reps} replicate(s) per "
                            "scenario, root seed {seed}.",
                      "vi": "Thời gian mô phỏng: {start} đến {end} ({months} tháng), {reps} lần lặp mỗi kịch "
                            "bản, hạt giống gốc {seed}."},
    "report.model": {"en": "Appendix: model settings", "vi": "Phụ lục: thiết lập mô hình"},
    "report.model_note": {"en": "Settings not listed keep their documented defaults (diffusion.model.params).",
                          "vi": "Các thiết lập không liệt kê giữ giá trị mặc định (diffusion.model.params)."},
    "report.levers": {"en": "Levers", "vi": "Các chính sách"},
    "report.scenarios": {"en": "Scenarios", "vi": "Các kịch bản"},
    "report.levers_by_scenario": {"en": "Levers in effect per scenario (from the results)",
                                  "vi": "Chính sách áp dụng theo kịch bản (từ kết quả)"},
    "report.reference_is": {"en": "Reference scenario for comparisons: {name}.",
                            "vi": "Kịch bản tham chiếu để so sánh: {name}."},
    "report.parameters": {"en": "Appendix: parameters and their sources", "vi": "Phụ lục: tham số và nguồn"},
    "report.parameters_note": {
        "en": "Figures the model draws on, as shipped in diffusion/data/observations.csv, each with its source.",
        "vi": "Các số liệu mô hình sử dụng, trong diffusion/data/observations.csv, kèm nguồn."},
    "report.see_sources": {"en": "Every observation the model draws on is listed with its source in the appendix.",
                           "vi": "Mọi số liệu quan sát mô hình sử dụng được liệt kê kèm nguồn ở phụ lục."},
    "report.targets": {"en": "Appendix: Resolution 09 targets", "vi": "Phụ lục: mục tiêu Nghị quyết 09"},
        "report.no_summary": {"en": "(summary.csv is missing.)", "vi": "(Không có summary.csv.)"},
    "report.targets_result": {"en": "2. Resolution 09 targets by scenario",
                              "vi": "2. Mục tiêu Nghị quyết 09 theo kịch bản"},
    "report.charts": {"en": "3. Charts", "vi": "3. Biểu đồ"},
    "report.figure": {"en": "Figure {n}", "vi": "Hình {n}"},
    "report.reproduce": {"en": "5. How to reproduce", "vi": "5. Cách tái tạo kết quả"},
    "report.reproduce_note": {
        "en": "Run the same configuration with the same package versions; the results depend only on the "
              "configuration, the scenario, the replicate and the root seed.",
        "vi": "Chạy lại cùng cấu hình với cùng phiên bản gói; kết quả chỉ phụ thuộc vào cấu hình, kịch bản, lần "
              "lặp và hạt giống gốc."},
    "report.sources": {"en": "Appendix: sources", "vi": "Phụ lục: nguồn số liệu"},
    "report.headline_note": {
        "en": "Median over runs, with the 5th–95th percentile in brackets. The full table of outcomes is "
              "summary.csv (and the appendix).",
        "vi": "Trung vị của các lần chạy, khoảng phân vị 5–95 trong ngoặc. Bảng đầy đủ là summary.csv (và phụ lục)."},
    "report.summary_full": {"en": "Appendix: all outcomes (summary.csv)", "vi": "Phụ lục: mọi kết quả (summary.csv)"},
    "report.config_text": {"en": "Appendix: the configuration as read", "vi": "Phụ lục: tệp cấu hình đã đọc"},
    "report.answer_intro": {
        "en": "{n} scenarios against {reference}, {runs} run(s) each, {start} to {end}. The table shows what the "
              "levers in effect act on: {products}.",
        "vi": "{n} kịch bản so với {reference}, mỗi kịch bản {runs} lần chạy, từ {start} đến {end}. Bảng cho thấy "
              "những gì các chính sách áp dụng tác động đến: {products}."},
    "answer.sentence": {"en": "Against {reference}, {scenario}: {parts}.",
                        "vi": "So với {reference}, {scenario}: {parts}."},
    "answer.additional": {"en": "{value} more households using {indicator} by {date}",
                          "vi": "thêm {value} hộ sử dụng {indicator} đến {date}"},
    "answer.spending": {"en": "total spending {value} VND", "vi": "tổng chi {value} đồng"},
    "answer.cost_per": {"en": "{value} VND per additional household", "vi": "{value} đồng cho mỗi hộ tăng thêm"},
    "report.comparisons": {"en": "Comparisons between scenarios (paired on replicates)",
                           "vi": "So sánh giữa các kịch bản (ghép theo lần lặp)"},
    "col.compared_with": {"en": "Compared with", "vi": "So với"},
    "fact.report_command": {"en": "Charts and report again", "vi": "Vẽ lại biểu đồ và báo cáo"},
    "target_note.broadband_households": {
        "en": "Quảng Ninh NQ 09-NQ/TU (2022-02-05); broadband read as any internet (mobile data or fibre)",
        "vi": "Nghị quyết 09-NQ/TU của Quảng Ninh (05/02/2022); băng rộng được hiểu là internet bất kỳ (dữ liệu di "
              "động hoặc cáp quang)"},
    "target_note.fibre_households": {"en": "Quảng Ninh NQ 09-NQ/TU (2022-02-05)",
                                     "vi": "Nghị quyết 09-NQ/TU của Quảng Ninh (05/02/2022)"},
    "target_note.working_age_smartphone": {"en": "Quảng Ninh NQ 09-NQ/TU (2022-02-05)",
                                           "vi": "Nghị quyết 09-NQ/TU của Quảng Ninh (05/02/2022)"},
    "outcome.final": {"en": "{metric}, {date} (end)", "vi": "{metric}, {date} (cuối kỳ)"},
    "outcome.at": {"en": "{metric}, {date}", "vi": "{metric}, {date}"},
    "outcome.month_reached": {"en": "Month reached: {target}", "vi": "Tháng đạt: {target}"},
    "outcome.reached": {"en": "Runs reaching: {target}", "vi": "Số lần chạy đạt: {target}"},
    "outcome.total_cost": {"en": "Total spending (VND)", "vi": "Tổng chi tiêu (đồng)"},
    "outcome.diff_final": {"en": "Difference vs reference: {metric}, {date} (end; percentage points)",
                           "vi": "Chênh lệch so với tham chiếu: {metric}, {date} (cuối kỳ; điểm phần trăm)"},
    "outcome.diff_at": {"en": "Difference vs reference: {metric}, {date} (percentage points)",
                        "vi": "Chênh lệch so với tham chiếu: {metric}, {date} (điểm phần trăm)"},
    "outcome.months_earlier": {"en": "Months earlier than the reference: {target}",
                               "vi": "Sớm hơn tham chiếu (tháng): {target}"},
    "outcome.additional": {"en": "Additional households: {indicator}", "vi": "Số hộ tăng thêm: {indicator}"},
    "outcome.additional_cost": {"en": "Additional spending vs reference (VND)",
                                "vi": "Chi tiêu tăng thêm so với tham chiếu (đồng)"},
    "outcome.cost_per_additional": {"en": "Cost per additional household: {indicator} (VND)",
                                    "vi": "Chi phí mỗi hộ tăng thêm: {indicator} (đồng)"},
    # ------------------------------------------------------------------ a lever's eligible group, deadweight
    "outcome.eligible_final": {"en": "{lever}, eligible households: {indicator}, {date} (end)",
                               "vi": "{lever}, hộ thuộc diện hưởng: {indicator}, {date} (cuối kỳ)"},
    "outcome.payments": {"en": "{lever}: households paid", "vi": "{lever}: số hộ được hỗ trợ"},
    "outcome.additional_eligible": {"en": "{lever}, additional eligible households: {indicator}",
                                    "vi": "{lever}, số hộ thuộc diện hưởng tăng thêm: {indicator}"},
    "outcome.deadweight": {"en": "{lever}: payments to households that would have adopted anyway",
                           "vi": "{lever}: số lần hỗ trợ cho hộ vốn sẽ tự mua"},
    "outcome.deadweight_vnd": {"en": "{lever}: money paid to households that would have adopted anyway (VND)",
                               "vi": "{lever}: tiền hỗ trợ cho hộ vốn sẽ tự mua (đồng)"},
    "note.no_measurable_effect": {"en": "no measurable effect", "vi": "không có tác động đo được"},
    "note.fewer_adopters": {"en": "fewer adopters than the comparison", "vi": "ít hộ sử dụng hơn so với đối chứng"},
    "title.sweep": {"en": "{outcome} against {swept}", "vi": "{outcome} theo {swept}"},
    "word.outcomes": {"en": "Outcomes", "vi": "Kết quả"},
    "caption.sweep": {
        "en": "{outcome} at each value of {swept} (median over runs, 5–95% range), one line per scenario.",
        "vi": "{outcome} ứng với từng giá trị của {swept} (trung vị các lần chạy, khoảng 5–95%), mỗi kịch bản "
              "một đường."},
    "word.of_runs": {"en": "{pct} of runs", "vi": "{pct} số lần chạy"},
    "word.pp": {"en": "pp", "vi": "điểm %"},
    "word.dirty": {"en": "with uncommitted changes", "vi": "có thay đổi chưa commit"},
    "col.description": {"en": "Description", "vi": "Mô tả"},
    "col.scenario": {"en": "Scenario", "vi": "Kịch bản"},
    "col.outcome": {"en": "Outcome", "vi": "Kết quả"},
    "col.median": {"en": "Median", "vi": "Trung vị"},
    "col.interval": {"en": "90% interval", "vi": "Khoảng 90%"},
    "col.lever": {"en": "Lever", "vi": "Chính sách"},
    "col.kind": {"en": "Kind", "vi": "Loại"},
    "col.settings": {"en": "Settings", "vi": "Thiết lập"},
    "col.setting": {"en": "Setting", "vi": "Thiết lập"},
    "col.value": {"en": "Value", "vi": "Giá trị"},
    "col.target": {"en": "Target", "vi": "Mục tiêu"},
    "col.share": {"en": "Share", "vi": "Tỷ lệ"},
    "col.by": {"en": "By", "vi": "Thời hạn"},
    "col.source": {"en": "Source", "vi": "Nguồn"},
    "col.place": {"en": "Place", "vi": "Địa bàn"},
    "col.indicator": {"en": "Indicator", "vi": "Chỉ tiêu"},
    "col.unit": {"en": "Unit", "vi": "Đơn vị"},
    "col.date": {"en": "Date", "vi": "Thời điểm"},
    "col.note": {"en": "Note", "vi": "Ghi chú"},
    "col.value_at": {"en": "Value at target date", "vi": "Giá trị tại thời hạn"},
    "col.met": {"en": "Runs meeting it", "vi": "Số lần chạy đạt"},
    "col.reached": {"en": "Month reached (median)", "vi": "Tháng đạt (trung vị)"},
    "col.name": {"en": "Parameter", "vi": "Tham số"},
    "col.basis": {"en": "Basis", "vi": "Căn cứ"},
    "col.min": {"en": "Plausible from", "vi": "Hợp lý từ"},
    "col.max": {"en": "to", "vi": "đến"},
    "basis.source": {"en": "source", "vi": "có nguồn"},
    "basis.derived": {"en": "derived", "vi": "suy ra"},
    "basis.assumption": {"en": "assumption", "vi": "giả định"},
    "basis.calibrated": {"en": "calibrated", "vi": "hiệu chỉnh"},
    "col.fact": {"en": "Fact", "vi": "Thông tin"},
    "fact.config_sha256": {"en": "Configuration SHA-256", "vi": "SHA-256 của cấu hình"},
    "fact.root_seed": {"en": "Root seed", "vi": "Hạt giống gốc"},
    "fact.git_commit": {"en": "Git commit", "vi": "Git commit"},
    "fact.versions": {"en": "Package versions", "vi": "Phiên bản gói"},
    "fact.started": {"en": "Started", "vi": "Bắt đầu"},
    "fact.finished": {"en": "Finished", "vi": "Kết thúc"},
    "fact.runs": {"en": "Runs done / failed", "vi": "Số lần chạy xong / lỗi"},
    "fact.command": {"en": "Command", "vi": "Lệnh"},
    "word.yes": {"en": "yes", "vi": "có"},
    "word.never": {"en": "not reached", "vi": "chưa đạt"},
    "word.unknown": {"en": "unknown", "vi": "không rõ"},
    # ------------------------------------------------------------------ calibration charts
    "calibration.title_targets": {"en": "Calibration targets against the posterior predictive distribution",
                                  "vi": "Mục tiêu hiệu chỉnh so với phân phối dự báo hậu nghiệm"},
    "calibration.title_pair": {"en": "Posterior of the calibrated parameters (pairs)",
                               "vi": "Phân phối hậu nghiệm của các tham số hiệu chỉnh (từng cặp)"},
    "calibration.median": {"en": "posterior predictive median", "vi": "trung vị dự báo hậu nghiệm"},
    "calibration.band": {"en": "90% predictive band", "vi": "khoảng dự báo 90%"},
    "calibration.observed": {"en": "observed (bar: binomial 90% interval)",
                             "vi": "quan sát (thanh: khoảng nhị thức 90%)"},
    "calibration.bound": {"en": "observed bound", "vi": "ngưỡng quan sát"},
    "calibration.check": {"en": "check only", "vi": "chỉ kiểm tra"},
    "calibration.share": {"en": "share", "vi": "tỷ lệ"},
    # ------------------------------------------------------------------ sensitivity convergence chart
    "sensitivity.convergence_title": {
        "en": "Convergence: indices from half of the design (open) against the whole design (filled)",
        "vi": "Hội tụ: chỉ số từ một nửa thiết kế (rỗng) so với toàn bộ thiết kế (đặc)",
    },
    "sensitivity.axis_ST": {"en": "Total-order index ST (0–1)", "vi": "Chỉ số tổng ST (0–1)"},
    "sensitivity.axis_mu_star": {"en": "μ* (outcome units per range)", "vi": "μ* (đơn vị kết quả trên khoảng)"},
    "sensitivity.legend_half": {"en": "half of the base samples, n = {n}", "vi": "một nửa mẫu cơ sở, n = {n}"},
    "sensitivity.legend_all": {"en": "all base samples, n = {n}", "vi": "toàn bộ mẫu cơ sở, n = {n}"},
    # ------------------------------------------------------------------ targets: shortfall and near-target
    "outcome.near_month_reached": {"en": "Month {near} of the target reached: {target}",
                                   "vi": "Tháng đạt {near} mục tiêu: {target}"},
    "outcome.near_reached": {"en": "Runs reaching {near} of the target: {target}",
                             "vi": "Số lần chạy đạt {near} mục tiêu: {target}"},
    "outcome.shortfall": {"en": "Short of the target in {date}: {target} ({unit})",
                          "vi": "Còn thiếu so với mục tiêu vào {date}: {target} ({unit})"},
    "unit.households": {"en": "households", "vi": "hộ"},
    "unit.working_age_people": {"en": "working-age people", "vi": "người trong độ tuổi lao động"},
    "unit.people": {"en": "people aged 15+", "vi": "người từ 15 tuổi"},
    "target.not_reached": {"en": "not reached by {end}", "vi": "chưa đạt đến {end}"},
    "target.not_reached_runs": {"en": "not reached by {end} in {k} of {n} runs",
                                "vi": "chưa đạt đến {end} trong {k}/{n} lần chạy"},
    "target.not_reached_any": {"en": "not reached by {end} in any of the {n} runs",
                               "vi": "chưa đạt đến {end} ở cả {n} lần chạy"},
    "target.reached_median": {"en": "{date} (median of {n} runs)", "vi": "{date} (trung vị {n} lần chạy)"},
    "target.reached_some": {"en": "{date} (median; not reached by {end} in {k} of {n} runs)",
                            "vi": "{date} (trung vị; chưa đạt đến {end} trong {k}/{n} lần chạy)"},
    "target.short": {"en": "{median} {unit} still short of it in {date} (median over {n} runs; range {low}–{high})",
                     "vi": "vào {date} còn thiếu {median} {unit} (trung vị {n} lần chạy; khoảng {low}–{high})"},
    "target.short_same": {"en": "{median} {unit} still short of it in {date} (in each of the {n} runs)",
                          "vi": "vào {date} còn thiếu {median} {unit} (ở cả {n} lần chạy)"},
    "target.short_none": {"en": "met in {date} in all {n} runs: no {unit} short of it",
                          "vi": "đạt vào {date} ở cả {n} lần chạy: không còn {unit} nào thiếu"},
    "target.short_after": {"en": "the runs end in {date}, before the deadline: no shortfall at the deadline",
                           "vi": "mô phỏng kết thúc {date}, trước thời hạn: chưa tính được số còn thiếu"},
    "target.short_unknown": {"en": "no count of {metric} in the results: shortfall not computed",
                             "vi": "kết quả không có số đếm cho {metric}: không tính số còn thiếu"},
    "target.reached_in": {"en": "reached in {when}", "vi": "đạt vào {when}"},
    "target.sentence": {
        "en": "{target}, {share} by {by}: {short}. Near-target ({near} of the target, {near_share}): {near_when}. "
              "Full target ({share}): {when}.",
        "vi": "{target}, {share} vào {by}: {short}. Gần đạt ({near} mục tiêu, {near_share}): {near_when}. "
              "Đạt đủ mục tiêu ({share}): {when}."},
    "target.about": {
        "en": "A stochastic model seldom reaches a 100% target exactly, so each target is also read at {near} "
              "of its share (the near-target; [outputs] near_target) and by who is still short of it at the "
              "deadline. A month is given as the median over runs only when more than half of the runs reach "
              "it; otherwise the target is \"not reached by\" the last month of the runs.",
        "vi": "Mô hình ngẫu nhiên hiếm khi đạt đúng mục tiêu 100%, nên mỗi mục tiêu còn được xét ở mức {near} "
              "(gần đạt; [outputs] near_target) và theo số còn thiếu tại thời hạn. Tháng đạt là trung vị các lần "
              "chạy, chỉ khi hơn một nửa số lần chạy đạt; nếu không, mục tiêu \"chưa đạt đến\" tháng cuối của "
              "mô phỏng."},
    "col.shortfall": {"en": "Short at the deadline (median; range)", "vi": "Còn thiếu tại thời hạn (trung vị; khoảng)"},
    "col.near_reached": {"en": "Month {near} of the target reached", "vi": "Tháng đạt {near} mục tiêu"},
    "col.target_reached": {"en": "Month the target is reached", "vi": "Tháng đạt mục tiêu"},
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


STRINGS.update(DECISION_STRINGS)  # the labels of `diffusion optimise` (foundation.strings_decision)
STRINGS.update(UNIT_STRINGS)  # the units of the data files (foundation.strings_units)


def check_language(lang: str | None) -> str:
    """``lang`` if it is "en" or "vi" (None means "en"); ValueError otherwise."""
    if lang is None:
        return "en"
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {LANGUAGES}")
    return lang


def tr(key: str, lang: str = "en", **fields: object) -> str:
    """The string ``key`` in ``lang`` with ``fields`` filled in (NFC-normalised)."""
    text = STRINGS[key][check_language(lang)]
    if fields:
        text = text.format(**fields)
    return unicodedata.normalize("NFC", text)


def tr_or(key: str, lang: str, text: str) -> str:
    """The string ``key`` in ``lang`` when the table has it, else ``text`` as written."""
    return tr(key, lang) if key in STRINGS else text


def metric_label(metric: str, lang: str = "en", short: bool = False) -> str:
    """Label of a metric column such as ``share_internet`` (the column name if it has none)."""
    return tr_or(("short." if short else "metric.") + metric, lang, metric)


def lever_label(name: str, lang: str = "en") -> str:
    """Label of a lever: its kind's label when the name is a lever kind, else the name as written."""
    return tr_or(f"lever.{name}", lang, name)


def unit_label(unit: str, lang: str = "en") -> str:
    """A unit in ``lang``: of the data files (parameters.csv, observations.csv) or counted short of a target
    ("households", "working_age_people", ...); its ``unit.<unit>`` string, or the unit as written when the table has
    none."""
    return tr_or(f"unit.{unit}", lang, unit)


def fmt_number(x: float, lang: str = "en", decimals: int = 0) -> str:
    """``x`` with thousands separators: "1,234.5" in English, "1.234,5" in Vietnamese; "–" for NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    s = f"{float(x):,.{decimals}f}"
    if s.startswith("-") and float(s.replace(",", "")) == 0:
        s = s[1:]
    if check_language(lang) == "vi":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return s.replace("-", "−")


def fmt_pct(share: float, lang: str = "en", decimals: int = 0) -> str:
    """A share 0..1 as a percentage, e.g. "95%" or "95,3%"."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    return fmt_number(100.0 * share, lang, decimals) + "%"


def fmt_month(date: str, lang: str = "en") -> str:
    """"YYYY-MM" as "Dec 2025" (en) or "12/2025" (vi); other text unchanged."""
    if not isinstance(date, str) or len(date) < 7 or date[4] != "-" or not date[:4].isdigit():
        return str(date)
    year, month = int(date[:4]), int(date[5:7])
    if check_language(lang) == "vi":
        return f"{month:02d}/{year}"
    return f"{_MONTHS_EN[month - 1]} {year}"
