"""Independent computation (numpy/scipy) of the numbers asserted in tests/digits.rs.

Run: python3 tests/independent/digits.py
"""
import numpy as np
from scipy import stats

# hand-made last-digit tallies (digits 0..9)
obs = np.array([30, 12, 9, 11, 10, 25, 8, 10, 7, 8])
chi = stats.chisquare(obs)
print(f"chi2 uniform: stat={chi.statistic:.12g} p={chi.pvalue:.12g}")

# 2BL expectations
q = np.array([sum(np.log10(1 + 1 / (10 * k + d)) for k in range(1, 10)) for d in range(10)])
print("benford second:", " ".join(f"{x:.12f}" for x in q), "mean", f"{(np.arange(10) * q).sum():.12f}")
obs2 = np.array([120, 110, 108, 105, 100, 98, 95, 92, 90, 82])
c2 = stats.chisquare(obs2, q * obs2.sum())
print(f"chi2 benford: stat={c2.statistic:.12g} p={c2.pvalue:.12g}")

# exact binomial tests (two-sided, minlike)
for k, n, p in [(31, 400, 0.10), (52, 400, 0.18), (90, 400, 0.18), (3, 10, 0.2), (150, 1000, 0.2), (250, 1000, 0.2), (80000, 800000, 0.1), (79000, 800000, 0.1)]:
    print(f"binomtest k={k} n={n} p={p}: {stats.binomtest(k, n, p).pvalue:.12g}  less={stats.binom.cdf(k, n, p):.12g}")

# repeated / adjacent expectations by enumeration
rep = sum(1 for a in range(10) for b in range(10) if a == b)
adj = sum(1 for a in range(10) for b in range(10) if abs(a - b) == 1)
print("repeated", rep / 100, "adjacent", adj / 100)
