"""Money for households: a smartphone subsidy and support for fibre connections."""

from __future__ import annotations

import numpy as np

from diffusion.foundation.errors import check_rate, check_whole
from diffusion.model.levers.base import GROUP_ACTIVITIES, Lever, budget_of, eligibility_of, hamlet_mask
from diffusion.model.products import FIBRE, SMARTPHONE


class SmartphoneSubsidy(Lever):
    """Support for buying a smartphone: ``amount_vnd`` off the price for eligible households.

    The national scheme pays 500,000 VND per poor or near-poor household from 2022-12 (Circular
    14/2022/TT-BTTTT; observations). The subsidy lowers the net price the household faces when it
    decides; it is paid when an eligible household adopts, in a random order within the month, until
    ``budget_vnd`` is spent (None: no limit). While the remaining budget is below one payment the
    subsidy is closed. ``hamlets`` restricts it to households of the hamlets named.

    Besides payments it records its eligible group (``GROUP_ACTIVITIES``) every month, also while switched off
    (``enabled = false``), so that a reference scenario holding the lever switched off gives the group's
    counterfactual: the summary's outcomes for the eligible group and its deadweight compare the two.
    """

    kind = "smartphone_subsidy"
    activities = ("payments", "paid_vnd", *GROUP_ACTIVITIES)
    per_run = ("amount", "group_size")
    per_household = ("_eligible",)
    household_ids = ("_group_ids",)

    setting_docs = {**Lever.setting_docs,
                    "amount_vnd": "Subsidy per eligible household buying a smartphone, VND (national scheme: 500,000 "
                                  "VND per poor or near-poor household from 2022-12, Circular 14/2022/TT-BTTTT)."}

    def __init__(self, amount_vnd: float = 500_000.0, eligibility=("poor", "near_poor"),
                 budget_vnd: float | None = None, hamlets: list | None = None, **kw):
        super().__init__(**kw)
        self.amount_vnd = check_rate("amount_vnd", amount_vnd, self.name)
        self.eligibility = eligibility_of(eligibility, self.name)
        self.budget_vnd = budget_of(budget_vnd, self.name)
        self.hamlets = hamlets

    def bind(self, ctx):
        super().bind(ctx)
        self.amount = np.array([float(self.amount_vnd)])
        served = hamlet_mask(self.hamlets, ctx.population, self._field("hamlets"))[ctx.population.hamlet]
        self._eligible = self._eligible_mask(self.eligibility) & served
        self._bind_group(self._eligible)
        self._offer_key = None  # (the offer array is rebuilt for this binding)

    def act(self, t, state, effects):
        self._open = self.active(t) & (self.amount > 0) & (self._remaining() >= self.amount)
        if not self._open.any():
            return
        key = self._open.tobytes()
        if self._offer_key != key:  # the offer changes only when a run opens or closes
            L = self.ctx.layout
            self._offer = np.where(self._eligible & L.spread(self._open), L.spread(self.amount), 0.0)
            self._offer_key = key
        effects.add(effects.price_subsidy, SMARTPHONE, self._offer)

    def book(self, t, state, result):
        self.last = {"payments": self._zeros(), "paid_vnd": self._zeros()}
        self._record_group(state)
        open_ = getattr(self, "_open", None)
        if open_ is None or not open_.any():
            return self._zeros()
        L = self.ctx.layout
        new = result.adopted.get(SMARTPHONE, np.empty(0, dtype=np.int64))
        new = new[self._eligible[new] & open_[L.run[new]]]
        pay, _ = self._pay_first(new, t, self._payable(self.amount))
        count = L.count(pay)
        paid = count * self.amount
        self.spent += paid
        self.last.update(payments=count, paid_vnd=paid)
        return paid


class ConnectionSupport(Lever):
    """Support for fixed (fibre) broadband: a one-off installation subsidy and/or a monthly fee
    discount for ``discount_months`` months after connection, for eligible households.

    Both lower the cost share the household weighs when deciding (and, for the discount, when deciding
    whether to keep the connection). Installation subsidies are paid when an eligible household
    connects; discounts every month to connected, enrolled households; all within ``budget_vnd``.
    ``hamlets`` restricts it to households of the hamlets named. It records its eligible group every month
    (``GROUP_ACTIVITIES``), as ``SmartphoneSubsidy`` does.
    """

    kind = "connection_support"
    activities = ("installations_paid", "discounts_paid", "paid_vnd", *GROUP_ACTIVITIES)
    per_run = ("install", "discount", "months", "group_size")
    per_household = ("_eligible", "_enrolled_until")
    household_ids = ("_group_ids",)

    setting_docs = {**Lever.setting_docs,
                    "install_subsidy_vnd": "One-off subsidy per eligible household connecting to fibre, VND.",
                    "monthly_discount_vnd": "Fibre fee discount per enrolled household, VND per month.",
                    "discount_months": "Months the fee discount lasts after connection."}

    def __init__(self, install_subsidy_vnd: float = 0.0, monthly_discount_vnd: float = 0.0,
                 discount_months: int = 12, eligibility=("poor", "near_poor"),
                 budget_vnd: float | None = None, hamlets: list | None = None, **kw):
        super().__init__(**kw)
        self.install_subsidy_vnd = check_rate("install_subsidy_vnd", install_subsidy_vnd, self.name)
        self.monthly_discount_vnd = check_rate("monthly_discount_vnd", monthly_discount_vnd, self.name)
        self.discount_months = check_whole("discount_months", discount_months, 0, self.name)
        self.eligibility = eligibility_of(eligibility, self.name)
        self.budget_vnd = budget_of(budget_vnd, self.name)
        self.hamlets = hamlets

    def bind(self, ctx):
        super().bind(ctx)
        n = ctx.population.n
        self.install = np.array([float(self.install_subsidy_vnd)])
        self.discount = np.array([float(self.monthly_discount_vnd)])
        self.months = np.array([int(self.discount_months)])
        served = hamlet_mask(self.hamlets, ctx.population, self._field("hamlets"))[ctx.population.hamlet]
        self._eligible = self._eligible_mask(self.eligibility) & served
        self._bind_group(self._eligible)
        self._enrolled_until = np.full(n, -1, dtype=np.int32)

    def act(self, t, state, effects):
        L = self.ctx.layout
        enrolled = (self._enrolled_until >= t) & state.adopted[FIBRE]
        self._open = self.active(t) & (self._remaining() > 0) & ((self.install > 0) | (self.discount > 0))
        offer = self._eligible & ~state.adopted[FIBRE] & L.spread(self._open)
        if ((self.install > 0) & self._open).any():
            effects.add(effects.price_subsidy, FIBRE, np.where(offer, L.spread(self.install), 0.0))
        discounting = (self.discount > 0) & (self.months > 0)
        if discounting.any() and (offer.any() or enrolled.any()):
            effects.add(effects.fee_discount, FIBRE,
                        np.where((offer | enrolled) & L.spread(discounting), L.spread(self.discount), 0.0))

    def book(self, t, state, result):
        L = self.ctx.layout
        paid = self._zeros()
        n_disc = self._zeros()
        n_inst = self._zeros()
        # ongoing discounts first (commitments), then new installations, within the budget
        ongoing = np.flatnonzero((self._enrolled_until >= t) & state.adopted[FIBRE])
        ongoing = ongoing[self.discount[L.run[ongoing]] > 0]
        if ongoing.size:
            kept, dropped = self._pay_first(ongoing, t, self._payable(self.discount))
            n_disc = L.count(kept)
            paid += n_disc * self.discount
            self._enrolled_until[dropped] = -1  # budget ran out: the remaining enrolments end
        open_ = getattr(self, "_open", None)
        if open_ is not None and open_.any():
            new = result.adopted.get(FIBRE, np.empty(0, dtype=np.int64))
            new = new[self._eligible[new] & open_[L.run[new]]]
            enrol, _ = self._pay_first(new, t, np.where(self.install > 0, self._payable(self.install, paid), np.inf))
            n_inst = np.where(self.install > 0, L.count(enrol), 0.0)
            paid += n_inst * self.install
            # the first discounted month is the month after connection
            enrol = enrol[((self.discount > 0) & (self.months > 0))[L.run[enrol]]]
            self._enrolled_until[enrol] = t + self.months[L.run[enrol]]
        self.spent += paid
        self.last = {"installations_paid": n_inst, "discounts_paid": n_disc, "paid_vnd": paid}
        self._record_group(state)
        return paid
