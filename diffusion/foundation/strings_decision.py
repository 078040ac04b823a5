"""The labels, captions and sentences of `diffusion optimise` (charts and the decision report), in English and
Vietnamese; ``foundation.strings`` adds them to its one table, ``STRINGS``."""

DECISION_STRINGS: dict[str, dict[str, str]] = {
    "caption.pareto": {"en": "Pareto front: every mix evaluated (grey) and the Pareto mixes (coloured by {third}).",
                       "vi": "Biên Pareto: mọi phương án đã đánh giá (xám) và phương án Pareto (màu theo {third})."},
    "caption.pareto_policies": {"en": "The Pareto mixes: decisions and objectives, each axis scaled to its range.",
                                "vi": "Các phương án Pareto: quyết định và mục tiêu, mỗi trục theo khoảng của nó."},
    "caption.search_convergence": {"en": "Search convergence: the best value of each objective among the feasible "
                                   "mixes so far.", "vi": "Hội tụ của tìm kiếm: giá trị tốt nhất của mỗi mục tiêu."},
    "caption.robustness": {"en": "Each policy over {draws} posterior draws: probability of meeting every target and "
                           "mean regret.", "vi": "Mỗi chính sách qua {draws} mẫu hậu nghiệm: xác suất đạt mọi mục "
                           "tiêu và mức hối tiếc trung bình."},
    "caption.peeling": {"en": "PRIM peeling trajectory of the draws where {policy} misses {target}.",
                        "vi": "Quỹ đạo bóc tách PRIM của các mẫu mà {policy} không đạt {target}."},
    "decision.title": {"en": "Decision report: {name}", "vi": "Báo cáo lựa chọn chính sách: {name}"},
    "decision.answer": {"en": "The answer", "vi": "Câu trả lời"},
    "decision.chosen": {"en": "The cheapest mix found that meets every target in at least {p} of the posterior "
                        "draws is {policy}: {settings}. It costs {cost} VND and meets them in {p_all} of draws.",
                        "vi": "Phương án rẻ nhất tìm được đạt mọi mục tiêu trong ít nhất {p} số mẫu hậu nghiệm là "
                        "{policy}: {settings}. Chi phí {cost} đồng, đạt mục tiêu trong {p_all} số mẫu."},
    "decision.none": {"en": "No mix evaluated meets every target in {p} of the draws; the most likely is {policy} "
                      "({p_all}, {cost} VND).", "vi": "Không phương án nào đạt mọi mục tiêu trong {p} số mẫu; khả năng "
                      "cao nhất là {policy} ({p_all}, {cost} đồng)."},
    "decision.alternative": {"en": "{policy} costs {cost} VND and meets every target in {p_all} of draws.",
                             "vi": "{policy} tốn {cost} đồng và đạt mọi mục tiêu trong {p_all} số mẫu."},
    "decision.fails": {"en": "It misses {target} in {rate} of draws, mostly when {box} (coverage {coverage}, "
                       "density {density}).", "vi": "Nó không đạt {target} trong {rate} số mẫu, chủ yếu khi {box} "
                       "(độ bao phủ {coverage}, mật độ {density})."},
    "decision.never_fails": {"en": "It meets {target} in every draw.", "vi": "Nó đạt {target} trong mọi mẫu."},
    "decision.pareto": {"en": "Pareto mixes of the search", "vi": "Các phương án Pareto của tìm kiếm"},
    "decision.robustness": {"en": "Robustness over posterior draws", "vi": "Độ vững qua các mẫu hậu nghiệm"},
    "decision.discovery": {"en": "When the chosen mix fails", "vi": "Khi nào phương án được chọn thất bại"},
    "decision.more_rows": {"en": "The first {n} of {total} rows; all are in the CSV file.",
                           "vi": "{n} dòng đầu trong {total} dòng; tệp CSV có đủ."},
    "decision.charts": {"en": "Charts", "vi": "Biểu đồ"},
    "decision.search": {"en": "{n} mixes evaluated, each over {reps} replicates with common random numbers.",
                        "vi": "Đã đánh giá {n} phương án, mỗi phương án qua {reps} lần lặp dùng chung số ngẫu nhiên."},
    "axis.probability": {"en": "Probability of meeting every target", "vi": "Xác suất đạt mọi mục tiêu"},
    "axis.regret": {"en": "Mean regret", "vi": "Hối tiếc trung bình"},
    "axis.million": {"en": "{name} (million VND)", "vi": "{name} (triệu đồng)"},
    "axis.evaluations": {"en": "Mixes evaluated", "vi": "Số phương án đã đánh giá"},
    "axis.coverage": {"en": "Coverage", "vi": "Độ bao phủ"},
    "axis.density": {"en": "Density", "vi": "Mật độ"},
    "legend.evaluated": {"en": "evaluated", "vi": "đã đánh giá"},
    "legend.chosen_box": {"en": "chosen box", "vi": "hộp được chọn"},
}
