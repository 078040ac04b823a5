"""The state at the start month: who uses what, skills and (threshold mechanism) thresholds."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from diffusion.foundation.randomness import Streams
from diffusion.model.params import ModelParams
from diffusion.model.people import SLOTS, first_user
from diffusion.model.population import Population
from diffusion.model.products import LADDER, PRODUCTS, SMARTPHONE, prerequisites
from diffusion.model.state import MonthEffects, State


def solve_intercept(x: np.ndarray, target: float, iterations: int = 30) -> float:
    """Intercept alpha with mean(expit(alpha + x)) == target (Newton's method, x fixed)."""
    if target <= 0:
        return -np.inf
    if target >= 1:
        return np.inf
    alpha = float(np.log(target / (1 - target)) - np.mean(x))
    for _ in range(iterations):
        p = expit(alpha + x)
        g = p.mean() - target
        d = (p * (1 - p)).mean()
        if d <= 0:
            break
        step = g / d
        alpha -= step
        if abs(step) < 1e-9:
            break
    return alpha


def initial_adoption(
    pop: Population, params: ModelParams, rng: np.random.Generator, eligible: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Draw who uses each product at the start month.

    The probability is logistic in log income (relative to the median) and head age, with the intercept
    solved so that the mean over eligible households equals the product's ``initial_share``; products
    are drawn in order (smartphone, mobile data, fibre, services) so that each respects the previous.
    Leaders (team households) start with a smartphone and mobile data where it is available.

    Args:
        eligible: product -> bool array of households where the product is available at the start
            (coverage, fibre in the hamlet); prerequisites on other products are applied here.
    """
    n = pop.n
    out = {p: np.zeros(n, dtype=bool) for p in PRODUCTS}
    if not params.initial_adoption:
        return out
    x = params.initial_income_coef * np.log(pop.income / np.median(pop.income)) + params.initial_age_coef * (
        (pop.head_age - 50.0) / 10.0
    )
    drawn = [out[p] for p in PRODUCTS]  # (the same arrays, by product index)
    for k, prod in enumerate(PRODUCTS):
        u = rng.random(n)  # drawn for every product, used or not, so streams never shift
        if prod not in params.active_products:
            continue
        ok = eligible[prod].copy()
        needs = prerequisites(k, drawn)
        if needs is not None:
            ok &= needs
        share = params.products[prod].initial_share
        if not ok.any() or share <= 0:
            continue
        alpha = solve_intercept(x[ok], share)
        prob = expit(alpha + x)
        adopted = ok & (u < prob)
        if LADDER[k].leaders_start:
            adopted |= ok & pop.leader
        out[prod] = drawn[k] = adopted
    return out


def initial_state(
    params: ModelParams, pop: Population, streams: Streams, effects: MonthEffects
) -> State:
    """The state at the start of the history (January 2008): initial adoption, members, skill, thresholds."""
    reach = {None: np.ones(pop.n, dtype=bool), "mobile": effects.mobile_coverage[pop.hamlet],
             "fibre": effects.fibre_ready[pop.hamlet]}
    eligible = {p.name: reach[p.network] for p in LADDER}
    rng = streams.generator("initial")
    init = initial_adoption(pop, params, rng, eligible)
    adopted = np.stack([init[p] for p in PRODUCTS])
    n = pop.n
    state = State(
        adopted=adopted,
        phone_users=np.zeros(n, dtype=np.int16),
        skill=pop.skill.copy(),
        exposure=np.zeros(n, dtype=np.float32),
        last_visit=np.full(n, -1, dtype=np.int32),
        age=pop.member_age.copy(),
        female=pop.member_female.copy(),
        phone=np.zeros((SLOTS, n), dtype=bool),
        size=pop.size.copy(),
        working_age=pop.working_age.copy(),
        elderly_only=pop.elderly_only.copy(),
        head_age=pop.head_age.copy(),
        young_age=np.zeros(n, dtype=np.float32),
    )
    # Members of a smartphone household who already use one: the first user, and each further member old
    # enough with probability 0.8 (assumption).
    has = np.flatnonzero(adopted[SMARTPHONE])
    extra = rng.random((SLOTS, n)) < 0.8
    if has.size:
        age = state.age[:, has]
        phone = extra[:, has] & (age >= params.phone_min_age)
        phone[first_user(age, params.phone_min_age), np.arange(has.size)] = True
        state.phone[:, has] = phone & (age >= 0)
    state.set_households()
    if params.mechanism == "threshold":
        trng = streams.generator("thresholds")
        shape = (len(PRODUCTS), pop.n)
        z = trng.standard_normal(shape)
        never_u = trng.random(shape)
        mean = params.threshold_mean - params.threshold_income_slope * (pop.income_rank - 0.5)
        state.threshold = np.clip(mean + params.threshold_sd * z, 0.0, 1.0).astype(np.float32)
        state.never = never_u < params.never_adopt_share
        state.never &= ~adopted
    return state
