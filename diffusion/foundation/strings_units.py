"""The units of the package's data files (parameters.csv, observations.csv) in Vietnamese; ``foundation.strings``
adds them to its one table, ``STRINGS``, as ``unit.<unit>`` strings whose English is the unit as the file writes it
(the English report shows units as written), and ``strings.unit_label`` reads them. A test checks that every unit of
the files has one.
"""

#: unit as the data files write it -> the same in Vietnamese
UNITS_VI: dict[str, str] = {
    # ------------------------------------------------------------------ observations.csv
    "% of households": "% số hộ",
    "% of population": "% dân số",
    "% of adults": "% người trưởng thành",
    "persons": "người",
    "million": "triệu",
    "million VND": "triệu đồng",
    "million VND per year": "triệu đồng mỗi năm",
    "VND per household": "đồng mỗi hộ",
    "teams": "tổ",
    "target": "mục tiêu",
    "subscriptions": "thuê bao",
    "per 100 people": "trên 100 người",
    "poor and policy households": "hộ nghèo và hộ chính sách",
    # ------------------------------------------------------------------ parameters.csv (and some of observations.csv)
    "ties per household": "mối quan hệ mỗi hộ",
    "probability": "xác suất",
    "VND per person per month": "đồng mỗi người mỗi tháng",
    "ratio": "tỷ số",
    "share": "tỷ lệ",
    "years": "năm",
    "share of households with head 65+": "tỷ lệ hộ có chủ hộ từ 65 tuổi",
    "skill 0-1": "kỹ năng 0-1",
    "skill per year of age of the youngest adult": "kỹ năng mỗi năm tuổi của người lớn trẻ nhất",
    "skill per unit income rank": "kỹ năng mỗi đơn vị thứ hạng thu nhập",
    "skill": "kỹ năng",
    "per year": "mỗi năm",
    "log-odds per unit log income": "log-odds mỗi đơn vị log thu nhập",
    "log-odds per decade": "log-odds mỗi 10 năm tuổi",
    "share of household income per month": "tỷ lệ thu nhập của hộ mỗi tháng",
    "per unit cost share": "mỗi đơn vị tỷ lệ chi phí",
    "months": "tháng",
    "multiplier": "hệ số nhân",
    "share of neighbours": "tỷ lệ hàng xóm",
    "share per unit income rank": "tỷ lệ mỗi đơn vị thứ hạng thu nhập",
    "VND at 2022 prices": "đồng theo giá năm 2022",
    "VND per month": "đồng mỗi tháng",
    "0-1": "0-1",
    "share of households in January 2008": "tỷ lệ hộ vào tháng 01/2008",
    "VND": "đồng",
    "VND per month at 2022 prices": "đồng mỗi tháng theo giá năm 2022",
    "share of smartphone households in January 2008": "tỷ lệ trong các hộ có điện thoại thông minh vào tháng 01/2008",
    "share of households in reached hamlets in January 2008": "tỷ lệ hộ ở các thôn đã có mạng vào tháng 01/2008",
    "share of households with a smartphone and internet in January 2008":
        "tỷ lệ trong các hộ có điện thoại thông minh và internet vào tháng 01/2008",
    "per year of age": "mỗi năm tuổi",
    "hamlets (86% of plan)": "thôn (86% kế hoạch)",
    "stations covering 66 hamlets (100% of plan)": "trạm, phủ sóng 66 thôn (100% kế hoạch)",
    "units (72 wards; 7 towns; 98 communes)": "đơn vị (72 phường; 7 thị trấn; 98 xã)",
    "%": "%",
    "USD": "USD",
}

UNIT_STRINGS: dict[str, dict[str, str]] = {f"unit.{unit}": {"en": unit, "vi": vi} for unit, vi in UNITS_VI.items()}
