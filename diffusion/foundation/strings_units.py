"""The units of the package's data files (parameters.csv, observations.csv), in English and Vietnamese;
``foundation.strings`` adds them to its one table, ``STRINGS``, and ``strings.unit_label`` reads them.

The key is ``unit.`` and the unit as the file writes it, and the English text is that unit unchanged (the
English report shows units as written); a test checks that every unit of the files has one.
"""

UNIT_STRINGS: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------------ observations.csv
    "unit.% of households": {"en": "% of households", "vi": "% số hộ"},
    "unit.% of population": {"en": "% of population", "vi": "% dân số"},
    "unit.% of adults": {"en": "% of adults", "vi": "% người trưởng thành"},
    "unit.persons": {"en": "persons", "vi": "người"},
    "unit.million": {"en": "million", "vi": "triệu"},
    "unit.million VND": {"en": "million VND", "vi": "triệu đồng"},
    "unit.million VND per year": {"en": "million VND per year", "vi": "triệu đồng mỗi năm"},
    "unit.VND per household": {"en": "VND per household", "vi": "đồng mỗi hộ"},
    "unit.teams": {"en": "teams", "vi": "tổ"},
    "unit.target": {"en": "target", "vi": "mục tiêu"},
    "unit.subscriptions": {"en": "subscriptions", "vi": "thuê bao"},
    "unit.per 100 people": {"en": "per 100 people", "vi": "trên 100 người"},
    "unit.poor and policy households": {"en": "poor and policy households", "vi": "hộ nghèo và hộ chính sách"},
    # ------------------------------------------------------------------ parameters.csv (and some of observations.csv)
    "unit.ties per household": {"en": "ties per household", "vi": "mối quan hệ mỗi hộ"},
    "unit.probability": {"en": "probability", "vi": "xác suất"},
    "unit.VND per person per month": {"en": "VND per person per month", "vi": "đồng mỗi người mỗi tháng"},
    "unit.ratio": {"en": "ratio", "vi": "tỷ số"},
    "unit.share": {"en": "share", "vi": "tỷ lệ"},
    "unit.years": {"en": "years", "vi": "năm"},
    "unit.share of households with head 65+": {
        "en": "share of households with head 65+",
        "vi": "tỷ lệ hộ có chủ hộ từ 65 tuổi"},
    "unit.skill 0-1": {"en": "skill 0-1", "vi": "kỹ năng 0-1"},
    "unit.skill per year of age of the youngest adult": {
        "en": "skill per year of age of the youngest adult",
        "vi": "kỹ năng mỗi năm tuổi của người lớn trẻ nhất"},
    "unit.skill per unit income rank": {
        "en": "skill per unit income rank",
        "vi": "kỹ năng mỗi đơn vị thứ hạng thu nhập"},
    "unit.skill": {"en": "skill", "vi": "kỹ năng"},
    "unit.per year": {"en": "per year", "vi": "mỗi năm"},
    "unit.log-odds per unit log income": {
        "en": "log-odds per unit log income",
        "vi": "log-odds mỗi đơn vị log thu nhập"},
    "unit.log-odds per decade": {"en": "log-odds per decade", "vi": "log-odds mỗi 10 năm tuổi"},
    "unit.share of household income per month": {
        "en": "share of household income per month",
        "vi": "tỷ lệ thu nhập của hộ mỗi tháng"},
    "unit.per unit cost share": {"en": "per unit cost share", "vi": "mỗi đơn vị tỷ lệ chi phí"},
    "unit.months": {"en": "months", "vi": "tháng"},
    "unit.multiplier": {"en": "multiplier", "vi": "hệ số nhân"},
    "unit.share of neighbours": {"en": "share of neighbours", "vi": "tỷ lệ hàng xóm"},
    "unit.share per unit income rank": {"en": "share per unit income rank", "vi": "tỷ lệ mỗi đơn vị thứ hạng thu nhập"},
    "unit.VND at 2022 prices": {"en": "VND at 2022 prices", "vi": "đồng theo giá năm 2022"},
    "unit.VND per month": {"en": "VND per month", "vi": "đồng mỗi tháng"},
    "unit.0-1": {"en": "0-1", "vi": "0-1"},
    "unit.share of households in January 2008": {
        "en": "share of households in January 2008",
        "vi": "tỷ lệ hộ vào tháng 01/2008"},
    "unit.VND": {"en": "VND", "vi": "đồng"},
    "unit.VND per month at 2022 prices": {
        "en": "VND per month at 2022 prices",
        "vi": "đồng mỗi tháng theo giá năm 2022"},
    "unit.share of smartphone households in January 2008": {
        "en": "share of smartphone households in January 2008",
        "vi": "tỷ lệ trong các hộ có điện thoại thông minh vào tháng 01/2008"},
    "unit.share of households in reached hamlets in January 2008": {
        "en": "share of households in reached hamlets in January 2008",
        "vi": "tỷ lệ hộ ở các thôn đã có mạng vào tháng 01/2008"},
    "unit.share of households with a smartphone and internet in January 2008": {
        "en": "share of households with a smartphone and internet in January 2008",
        "vi": "tỷ lệ trong các hộ có điện thoại thông minh và internet vào tháng 01/2008"},
    "unit.per year of age": {"en": "per year of age", "vi": "mỗi năm tuổi"},
    "unit.hamlets (86% of plan)": {"en": "hamlets (86% of plan)", "vi": "thôn (86% kế hoạch)"},
    "unit.stations covering 66 hamlets (100% of plan)": {
        "en": "stations covering 66 hamlets (100% of plan)",
        "vi": "trạm, phủ sóng 66 thôn (100% kế hoạch)"},
    "unit.units (72 wards; 7 towns; 98 communes)": {
        "en": "units (72 wards; 7 towns; 98 communes)",
        "vi": "đơn vị (72 phường; 7 thị trấn; 98 xã)"},
    "unit.%": {"en": "%", "vi": "%"},
    "unit.USD": {"en": "USD", "vi": "USD"},
}
