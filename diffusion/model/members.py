"""The members' part of the monthly step: which members of a smartphone household could start a smartphone of
their own (``able_members``, compiled), and the members whose smartphone use or being online changed in a month,
from its events (``member_changes``), for the people's outputs (``model.outputs``)."""

from __future__ import annotations

import numpy as np
from numba import njit

from diffusion.model.products import uses
from diffusion.model.state import MemberChanges, State


@njit(cache=True, nogil=True)
def able_members(age, phone, households, min_age, pick):
    """For each of ``households``, how many members could start a smartphone of their own (old enough, none yet);
    with ``pick``, the slot of its pick-th such member (0-based) instead."""
    out = np.empty(households.size, dtype=np.int64)
    for j in range(households.size):
        h = households[j]
        m = min_age[0] if min_age.size == 1 else min_age[j]
        count = 0
        for s in range(age.shape[0]):
            if age[s, h] >= m and not phone[s, h]:
                if pick is not None and count == pick[j]:
                    out[j] = s
                    break
                count += 1
        if pick is None:
            out[j] = count
    return out


def member_changes(state: State, touched: np.ndarray, before: np.ndarray, after: np.ndarray,
                    starts: tuple[np.ndarray, np.ndarray, np.ndarray],
                    cleared: tuple[np.ndarray, np.ndarray, np.ndarray]) -> MemberChanges:
    """The members whose smartphone use or being online changed in the month, from its events: members who started
    using a smartphone (``starts``: households, slots, whether the household was online at the start of the
    month), households that gave their smartphone up (``cleared``: households, their members' phones and whether
    they were online, at the start of the month) and the touched households whose internet came or went
    (``before``/``after``). Per member, online changes by s*I0 + (I1 - I0)*F1, where s is 1 for a new user, I0
    and I1 the household's internet at the start and end of the month and F1 the member's phone at the end, and
    by -F0*I0 in a household that gave its smartphone up (F0: the phone at the start)."""
    h_start, slot_start, online0 = starts
    h_clear, phones0, clear_online = cleared
    i0, i1 = uses("internet", before), uses("internet", after)
    switched = i0 != i1
    h_switch, sign = touched[switched], i1[switched].astype(np.int8) - i0[switched]
    if h_clear.size:  # (a household that gave its smartphone up has no member using one at the end)
        keep = ~np.isin(h_start, h_clear)
        h_start, slot_start, online0 = h_start[keep], slot_start[keep], online0[keep]
        keep = ~np.isin(h_switch, h_clear)
        h_switch, sign = h_switch[keep], sign[keep]
    s_slot, s_col = np.nonzero(np.take(state.phone, h_switch, axis=1))
    c_slot, c_col = np.nonzero(phones0)
    h = np.concatenate([h_start, h_switch[s_col], h_clear[c_col]])
    slot = np.concatenate([slot_start, s_slot, c_slot])
    d_phone = np.concatenate([np.ones(h_start.size, np.int8), np.zeros(s_col.size, np.int8),
                              np.full(c_col.size, -1, np.int8)])
    d_online = np.concatenate([online0.astype(np.int8), sign[s_col], -clear_online[c_col].astype(np.int8)])
    return MemberChanges(h, slot, state.age[slot, h], state.female[slot, h], d_phone, d_online)
