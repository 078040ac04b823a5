"""Model parameters with their units, defaults and checks.

Every default is either taken from a row of ``diffusion/data/observations.csv`` (the *source*), derived by
arithmetic on such rows (*derived*), or an *assumption*; ``diffusion/data/parameters.csv`` records which,
with the source address, and the test suite checks that table against the defaults below.

Rates are per year (the literature's unit); the model converts them to monthly probabilities with
P = 1 - exp(-rate / 12). Money is in VND at 2022 prices (the year of the income survey); incomes are per person
per month. Incomes, prices and fees change month by month with the dated tables of ``model.world``; the values
here are those of 2022.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace
from typing import Any

from diffusion.foundation.errors import (
    ParameterError,
    check_choice,
    check_positive,
    check_rate,
    check_share,
    check_whole,
    did_you_mean,
)
from diffusion.foundation.sources import parameters as parameter_rows
from diffusion.model.products import PRODUCTS

MECHANISMS: tuple[str, ...] = ("hazard", "threshold")
NETWORKS: tuple[str, ...] = ("small_world", "complete")


@dataclass(frozen=True)
class ProductParams:
    """How one product is adopted.

    Attributes:
        p: innovation rate per year (adoption without social influence). Class default 0.03, the mean of
            Sultan, Farley & Lehmann (1990) meta-analysis of Bass models; smartphones, mobile data and fibre
            default to calibrated values (see ``_default_products`` and docs/calibration.md).
        q: imitation rate per year at full neighbour adoption. Class default 0.38 (same meta-analysis;
            calibrated for smartphones, mobile data and fibre).
        o: outreach rate per year at full exposure to a team visit (calibrated for smartphones and fibre;
            assumptions otherwise).
        price_vnd: one-off purchase or installation price in 2022, VND (other months follow ``model.world``).
        monthly_fee_vnd: subscription fee per month in 2022, VND (other months follow ``model.world``).
        churn_per_year: rate per year at which users give the product up when it is affordable.
        skill_weight: 0..1, how much readiness depends on digital skill (0: not at all; 1: fully; calibrated for
            smartphones: it also sets how much older members lag in taking one up).
        initial_share: share of eligible households using the product in January 2008, when every run's
            history starts (0..1). Eligible means the product's prerequisites and network hold.
    """

    p: float = 0.03
    q: float = 0.38
    o: float = 0.5
    price_vnd: float = 0.0
    monthly_fee_vnd: float = 0.0
    churn_per_year: float = 0.0
    skill_weight: float = 0.0
    initial_share: float = 0.0

    def validate(self, product: str) -> None:
        for name in ("p", "q", "o", "price_vnd", "monthly_fee_vnd", "churn_per_year"):
            check_rate(f"{product}.{name}", getattr(self, name))
        check_share(f"{product}.skill_weight", self.skill_weight)
        check_share(f"{product}.initial_share", self.initial_share)
        for f in fields(self):
            check_plausible(f"{product}.{f.name}", getattr(self, f.name))


def _default_products() -> dict[str, ProductParams]:
    # p, q and o of smartphones, mobile data and fibre and the smartphone's skill weight are calibrated to
    # Vietnam's record since 2010 and Quảng Ninh's figures (posterior medians of experiments/calibrate_history.toml,
    # docs/calibration.md; basis "calibrated" in parameters.csv); services keep the Bass meta-analysis
    # means (Sultan, Farley & Lehmann 1990) and an assumed outreach.
    return {
        # Entry smartphone: 1,000,000 VND in 2022, derived from the dated entry prices of world_series.csv
        # (about 1 million VND in 2015 and 2024, deflated). Nobody used a smartphone in 2008 (assumption: the
        # first smartphones sold in Vietnam that year).
        "smartphone": ProductParams(p=0.0824, q=0.900, o=2.25, price_vnd=1_000_000.0, skill_weight=0.522,
                                    initial_share=0.0),
        # Mobile data: 70,000 VND a month (MobiFone M70, 2016, world_series.csv; the dated package prices are
        # nearly flat in real terms). No mobile broadband before 3G (2009-08).
        "mobile_data": ProductParams(
            p=0.0598, q=1.72, o=0.5, monthly_fee_vnd=70_000.0, churn_per_year=0.05, skill_weight=0.3,
            initial_share=0.0
        ),
        # Fixed broadband (ADSL, then fibre): 150,000 VND a month in 2022 (derived: between the 2021 revenue
        # per subscription, 137,000, and the 2025 minimum package, 180,000, world_series.csv); installation
        # 300,000 VND (assumption: operators often waive it). In 2008, 30% of households in reached hamlets
        # (derived: 2.36 subscriptions per 100 people x 4.1 persons per household = 10% of households, over
        # the 20% of hamlets assumed reached, halved for subscriptions of businesses: an assumption).
        "fibre": ProductParams(
            p=0.271,
            q=1.76,
            o=2.68,
            price_vnd=300_000.0,
            monthly_fee_vnd=150_000.0,
            churn_per_year=0.03,
            skill_weight=0.0,
            initial_share=0.3,
        ),
        # Digital services (bank app, QR payment, online public services): free to use, skill-bound; none in
        # 2008 (assumption).
        "services": ProductParams(o=1.0, churn_per_year=0.02, skill_weight=1.0, initial_share=0.0),
    }


def _plausible_ranges() -> dict[str, tuple[float, float, str]]:
    """name -> (min, max, unit) of every numeric parameter: its plausible range, from the ``min`` and ``max``
    columns of diffusion/data/parameters.csv. A value outside it is an error (values that are finite but absurd
    give infinite costs, overflowing incomes or silently capped networks)."""
    return {r["name"]: (float(r["min"]), float(r["max"]), r["unit"]) for r in parameter_rows()
            if r.get("min") not in (None, "") and r.get("max") not in (None, "")}


#: Plausible range of every numeric parameter (diffusion/data/parameters.csv; documented in the README).
PLAUSIBLE: dict[str, tuple[float, float, str]] = _plausible_ranges()


def check_plausible(name: str, value: Any) -> None:
    """Raise ParameterError when a (valid) number lies outside its plausible range (``PLAUSIBLE``)."""
    if name not in PLAUSIBLE:
        return
    lo, hi, unit = PLAUSIBLE[name]
    if not lo <= float(value) <= hi:
        raise ParameterError(name, value, f"a plausible value from {lo:g} to {hi:g} ({unit}; the ranges are in "
                             "diffusion/data/parameters.csv)")


#: The largest population a model may have (households: a place's households times ``scale``), for the Python API
#: and configs alike: a typo in ``scale`` must not fill the machine's memory.
MAX_HOUSEHOLDS = 5_000_000
#: Peak memory a model takes per household while it is built, bytes (measured: 577 for Quảng Ninh's 403,843
#: households, history included; 12 million households took 5.4 GB, 450 each).
BYTES_PER_HOUSEHOLD = 600


def check_population(households: float, argument: str = "scale", value: Any = None) -> int:
    """The number of households a model of ``households`` (a place's households times its scale) builds, after
    checking it against MAX_HOUSEHOLDS with an estimate of the memory it would take (ParameterError naming
    ``argument`` beyond it)."""
    if not households <= MAX_HOUSEHOLDS:
        gb = households * BYTES_PER_HOUSEHOLD / 1e9
        raise ParameterError(argument, value, f"a factor giving at most {MAX_HOUSEHOLDS:,} households (this gives "
                             f"{households:,.0f}, about {gb:,.1f} GB of memory)")
    return int(round(households))


#: Parameters that no longer exist, with what replaced them (an old config gets this as its error).
RETIRED: dict[str, str] = {
    "price_decline_per_year": "prices and fees now follow the dated tables of diffusion/data/world_series.csv (see "
    "docs/design.md); remove the key",
}


@dataclass(frozen=True)
class ModelParams:
    """All parameters of the household adoption model (see the module docstring for units and sources).

    Attributes:
        mechanism: "hazard" (default: lambda = (p + q*s + o*v) * a * r) or "threshold" (Granovetter:
            adopt quickly once the neighbour share s reaches the household's threshold).
        network: "small_world" (Watts-Strogatz inside each hamlet plus ties between hamlets of a commune)
            or "complete" (well-mixed: every household sees the whole population).
        mean_degree: even number of ties per household inside its hamlet (assumption; range 4-10).
        rewiring: Watts-Strogatz rewiring probability (assumption; range 0.01-0.2).
        inter_hamlet_ties: ties to other hamlets of the commune per household (assumption).
        income_mean_vnd: mean income per person per month, VND: rural Vietnam 3.86 million (VHLSS 2022).
        income_quintile_ratio: mean income of the top quintile over the bottom one: 7.6 (VHLSS 2022).
        household_size_mean: persons per household when every history starts: 3.8 (census 2009).
        household_size_ratio: size of the poorest over the richest quintile's households: 1.2 (VHLSS 2018).
        working_age_share: share of people aged 15-64: 0.68 (census 2019).
        head_age_mean, head_age_sd: age of the household head in years (assumption: 50 and 13).
        elderly_only_share: share of households with a head aged 65+ in which nobody is of working age
            (assumption: 0.3).
        poor_share: poor households, the poorest by income: 0.0252 (Quang Ninh poverty rate 2013; uncertain).
        near_poor_share: near-poor households, the next poorest (assumption: 0.05).
        leaders_per_hamlet: hamlet head and digital-team households per hamlet: 8 (11,255 members /
            1,473 teams = 7.6, derived, rounded).
        skill_base, skill_age_slope, skill_income_slope, skill_noise: initial digital skill in [0, 1] is
            base - age_slope*(age of the youngest adult - 30) + income_slope*(income rank - 0.5) + noise
            (assumptions; age_slope calibrated: 0.0188 per year, docs/calibration.md). A member's skill is
            the household's less age_slope per year by which they are older than its youngest adult.
        skill_growth_per_year: rate at which smartphone users' skill closes the gap to 1 (assumption).
        initial_income_coef, initial_age_coef: log-odds of initial adoption per unit of log income (vs
            the median) and per decade of head age above 50 (assumptions).
        affordability_midpoint: cost share of household income per month at which affordability halves
            (calibrated: 0.0286; GSMA's thresholds are 2% for data and 15-20% for a device in one month).
        affordability_slope: steepness of affordability in the cost share (assumption: 100 per unit).
        amortisation_months: months over which a one-off price is spread in the cost share (assumption).
        exposure_half_life_months: half-life of a visit's outreach exposure, months (assumption: 3).
        member_uptake_per_year: rate at which each further member (of phone age) of a smartphone household
            starts using a smartphone, before readiness (calibrated: 0.748 per year).
        churn_unaffordable_multiplier: churn multiplier for a household that cannot afford the product:
            churn * (1 + m * (1 - a)) (assumption: 5).
        threshold_mean, threshold_sd, threshold_income_slope: thresholds (share of neighbours) are
            Normal(mean - slope * (income rank - 0.5), sd) clipped to [0, 1] (assumptions).
        threshold_rate_per_year: adoption rate once the threshold is reached (assumption: 12 per year).
        phone_min_age: the youngest age at which a member may use a smartphone of their own (assumption: 12).
        mortality_a, mortality_b: yearly death hazard a * exp(b * age) (Gompertz). b = 0.09 per year of age
            (assumption: a typical slope); a = 5.08e-5, derived so that the 2009 census age structure gives the
            crude death rate of 5.3 per 1000 of 2008 (demography.csv).
        birth_rate_scale: births each year are this times the national crude birth rate of the year (17.7 per 1000
            people in 2008 to 13.8 in 2023, demography.csv) times the run's people, born to women aged 20-39:
            1 (births as observed; 0 for none).
        household_growth_per_year: the place's households are a sample of a growing number: each year this share
            of them, over one plus it, is replaced by newly formed young households (a household sample that
            stays representative of a stock growing at this rate): 0.0181 (households grew 1.81% a year from
            the 2009 to the 2019 census, demography.csv).
        leave_home_per_year: yearly rate at which members aged 18-29 who do not head their household leave the
            place (to study, work or marry elsewhere): 0.05 (assumption; with it households shrink from 3.73
            persons in 2009 to 3.65 in 2019, against the censuses' 3.8 and 3.6: demography.csv).
        never_adopt_share: share of households that never adopt a product spontaneously or by threshold
            under the threshold mechanism (assumption: 0.02).
        homogeneous: one identical household type, free products, full skill (the Bass-limit check).
        initial_adoption: start the history in January 2008 from the initial shares (True) or from nobody (False).
        active_products: the products simulated; the others are never adopted.
        products: per-product parameters (see ProductParams).
    """

    mechanism: str = "hazard"
    network: str = "small_world"
    mean_degree: int = 6
    rewiring: float = 0.05
    inter_hamlet_ties: float = 0.05
    income_mean_vnd: float = 3_860_000.0
    income_quintile_ratio: float = 7.6
    household_size_mean: float = 3.8
    household_size_ratio: float = 1.2
    working_age_share: float = 0.68
    head_age_mean: float = 50.0
    head_age_sd: float = 13.0
    elderly_only_share: float = 0.3
    poor_share: float = 0.0252
    near_poor_share: float = 0.05
    leaders_per_hamlet: int = 8
    skill_base: float = 0.8
    skill_age_slope: float = 0.0188
    skill_income_slope: float = 0.15
    skill_noise: float = 0.1
    skill_growth_per_year: float = 0.05
    initial_income_coef: float = 1.0
    initial_age_coef: float = -0.4
    affordability_midpoint: float = 0.0286
    affordability_slope: float = 100.0
    amortisation_months: float = 12.0
    exposure_half_life_months: float = 3.0
    member_uptake_per_year: float = 0.748
    churn_unaffordable_multiplier: float = 5.0
    threshold_mean: float = 0.3
    threshold_sd: float = 0.15
    threshold_income_slope: float = 0.1
    threshold_rate_per_year: float = 12.0
    never_adopt_share: float = 0.02
    phone_min_age: int = 12
    mortality_a: float = 5.08e-5
    mortality_b: float = 0.09
    birth_rate_scale: float = 1.0
    household_growth_per_year: float = 0.0181
    leave_home_per_year: float = 0.05
    homogeneous: bool = False
    initial_adoption: bool = True
    active_products: tuple[str, ...] = PRODUCTS
    products: dict[str, ProductParams] = field(default_factory=_default_products)

    def __post_init__(self):
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ParameterError naming the first parameter with a value that is not allowed."""
        check_choice("mechanism", self.mechanism, MECHANISMS)
        check_choice("network", self.network, NETWORKS)
        k = check_whole("mean_degree", self.mean_degree, minimum=2)
        if k % 2:
            raise ParameterError("mean_degree", self.mean_degree, "an even whole number >= 2 (ties come in pairs)")
        for name in (
            "rewiring",
            "working_age_share",
            "elderly_only_share",
            "poor_share",
            "near_poor_share",
            "skill_base",
            "threshold_mean",
            "never_adopt_share",
        ):
            check_share(name, getattr(self, name))
        if self.poor_share + self.near_poor_share > 1:
            raise ParameterError(
                "near_poor_share", self.near_poor_share, "a share with poor_share + near_poor_share <= 1"
            )
        for name in (
            "inter_hamlet_ties",
            "skill_age_slope",
            "skill_income_slope",
            "skill_noise",
            "skill_growth_per_year",
            "affordability_slope",
            "member_uptake_per_year",
            "churn_unaffordable_multiplier",
            "threshold_sd",
            "threshold_income_slope",
            "threshold_rate_per_year",
            "head_age_sd",
            "mortality_a",
            "mortality_b",
            "birth_rate_scale",
            "household_growth_per_year",
            "leave_home_per_year",
        ):
            check_rate(name, getattr(self, name))
        check_whole("phone_min_age", self.phone_min_age, minimum=0)
        for name in (
            "income_mean_vnd",
            "affordability_midpoint",
            "amortisation_months",
            "exposure_half_life_months",
            "head_age_mean",
        ):
            check_positive(name, getattr(self, name))
        if check_positive("income_quintile_ratio", self.income_quintile_ratio) <= 1:
            raise ParameterError("income_quintile_ratio", self.income_quintile_ratio, "a ratio > 1")
        if check_positive("household_size_mean", self.household_size_mean) < 1:
            raise ParameterError("household_size_mean", self.household_size_mean, "a number of persons >= 1")
        check_positive("household_size_ratio", self.household_size_ratio)
        check_whole("leaders_per_hamlet", self.leaders_per_hamlet, minimum=0)
        for name in ("initial_income_coef", "initial_age_coef"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
                raise ParameterError(name, v, "a finite number")
        for name in ("homogeneous", "initial_adoption"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(name, getattr(self, name), "true or false")
        if isinstance(self.active_products, str) or not self.active_products:
            raise ParameterError("active_products", self.active_products, f"a non-empty list drawn from {PRODUCTS}")
        for prod in self.active_products:
            check_choice("active_products", prod, PRODUCTS)
        if set(self.products) != set(PRODUCTS):
            unknown = sorted(set(self.products) - set(PRODUCTS))
            raise ParameterError("products", unknown or sorted(self.products), f"exactly the products {PRODUCTS}")
        for f in fields(self):
            if f.name in PLAUSIBLE:
                check_plausible(f.name, getattr(self, f.name))
        for prod, pp in self.products.items():
            if not isinstance(pp, ProductParams):
                raise ParameterError(f"{prod}", pp, "a ProductParams")
            pp.validate(prod)

    # -------------------------------------------------------------- overrides
    def with_overrides(self, overrides: dict[str, Any] | None = None, **kwargs: Any) -> ModelParams:
        """A copy with some parameters changed.

        Keys are top-level names (``"rewiring"``), dotted product fields (``"smartphone.q"``) or
        the flat form ``"q_smartphone"`` (handy for ``mesa.batch_run``). Unknown names raise a
        ParameterError with a suggestion.
        """
        items = dict(overrides or {})
        items.update(kwargs)
        top: dict[str, Any] = {}
        prods = {k: dict(dataclasses.asdict(v)) for k, v in self.products.items()}
        for key, value in items.items():
            prod, fld = _split_product_key(key)
            if prod is not None:
                prods[prod][fld] = value
            elif key in RETIRED:
                raise ParameterError(key, value, RETIRED[key])
            elif key in _TOP_FIELDS:
                if key == "products":
                    raise ParameterError(key, value, "per-product fields such as 'smartphone.q'")
                if key == "active_products" and isinstance(value, list):
                    value = tuple(value)
                top[key] = value
            else:
                raise ParameterError(key, value, f"a model parameter name{_suggest(key)}")
        new_products = {k: ProductParams(**v) for k, v in prods.items()}
        return replace(self, products=new_products, **top)

    @classmethod
    def bass(cls, p: float = 0.03, q: float = 0.38, **overrides: Any) -> ModelParams:
        """Parameters for the Bass-limit check: one product (smartphone), identical households, free
        product, full skill, nobody adopted at the start, no churn. Use with network "complete".
        """
        base = cls(network="complete", homogeneous=True, initial_adoption=False, active_products=("smartphone",))
        return base.with_overrides({"smartphone.p": p, "smartphone.q": q, **overrides})

    def product_index(self, product: str) -> int:
        return PRODUCTS.index(check_choice("product", product, PRODUCTS))


_TOP_FIELDS = {f.name for f in fields(ModelParams)}
_PRODUCT_FIELDS = {f.name for f in fields(ProductParams)}


def _split_product_key(key: str) -> tuple[str | None, str | None]:
    if "." in key:
        prod, fld = key.split(".", 1)
        if prod in PRODUCTS and fld in _PRODUCT_FIELDS:
            return prod, fld
        raise ParameterError(key, None, f"'<product>.<field>' with product in {PRODUCTS} and field in "
                             f"{sorted(_PRODUCT_FIELDS)}{_suggest(key)}")
    for prod in PRODUCTS:
        suffix = "_" + prod
        if key.endswith(suffix) and key[: -len(suffix)] in _PRODUCT_FIELDS:
            return prod, key[: -len(suffix)]
    return None, None


def all_parameter_names() -> list[str]:
    """Every name accepted by ModelParams.with_overrides, dotted form for product fields."""
    names = sorted(_TOP_FIELDS - {"products"})
    names += [f"{p}.{f}" for p in PRODUCTS for f in sorted(_PRODUCT_FIELDS)]
    return names


def parameter_aliases() -> dict[str, str]:
    """Every accepted parameter name -> its canonical name for ``with_overrides`` ("q_smartphone" ->
    "smartphone.q"; top-level and dotted names map to themselves)."""
    names = {n: n for n in all_parameter_names()}
    for p in PRODUCTS:
        for f in _PRODUCT_FIELDS:
            names[f"{f}_{p}"] = f"{p}.{f}"
    return names


def _suggest(key: str) -> str:
    return did_you_mean(key, all_parameter_names())
