#!/usr/bin/env python3
"""Independent numbers for tests/rozenas.rs (Rozenas' coarse-share test).

Written from DESIGN.md section 3 and the module docs of src/stats/rozenas.rs with Python's
fractions/csv modules and scipy (no code shared with tallyscope):

1. the hand-made case: null probabilities P(x* = m), x* ~ Binomial(n, expit(lambda + s Z)),
   lambda = logit((x + 1/2)/(n + 1)), by adaptive quadrature over Z (scipy.integrate.quad),
   summed over the coarse lattice points m = n k/d (2 <= d <= 10, 0 < k < d);
2. Russia 2018: stations whose leader share v/C and turnout B/N are exactly 1/2, 2/3, 3/4
   (Python Fraction equality), stations abroad set aside (region starting with a digit or
   containing "Зарубеж"/"за пределами").

Usage: python3 tests/independent/rozenas.py [../shared/data/ru/2018.csv.zip]
"""
import collections, csv, io, math, sys, zipfile
from fractions import Fraction
from scipy import integrate, stats

def coarse_points(n, D=10):
    pts = {}
    for d in range(2, D + 1):
        for k in range(1, d):
            f = Fraction(k, d)
            if f.denominator == d and (n * k) % d == 0:
                pts[f] = n * k // d
    return pts

def q_station(x, n, s):
    lam = math.log((x + 0.5) / (n - x + 0.5))
    tot = 0.0
    for f, m in coarse_points(n).items():
        if s == 0:
            tot += stats.binom.pmf(m, n, 1 / (1 + math.exp(-lam)))
        else:
            g = lambda z: stats.norm.pdf(z) * stats.binom.pmf(m, n, 1 / (1 + math.exp(-(lam + s * z))))
            v, _ = integrate.quad(g, -12, 12, epsabs=1e-15, epsrel=1e-12, limit=500)
            tot += v
    return tot

def hand():
    case = [(2, 4), (3, 9), (7, 10), (5, 11), (0, 5), (6, 6), (40, 60), (41, 60)]
    for s in (0.0, 0.1):
        qs = [q_station(x, n, s) for x, n in case]
        print(f"sigma={s}: q = {[f'{q:.12g}' for q in qs]}")
        print(f"  null mean {sum(qs):.12g} sd {math.sqrt(sum(q*(1-q) for q in qs)):.12g}")
    # single points at larger n for the quadrature check
    for (m, n, x, s) in [(700, 1400, 690, 0.1), (466, 1400, 500, 0.1), (3, 4, 1, 0.1), (1, 2, 1, 0.5), (15000, 20000, 15020, 0.1)]:
        lam = math.log((x + 0.5) / (n - x + 0.5))
        g = lambda z: stats.norm.pdf(z) * stats.binom.pmf(m, n, 1 / (1 + math.exp(-(lam + s * z))))
        v, _ = integrate.quad(g, -12, 12, epsabs=1e-17, epsrel=1e-12, limit=1000, points=[(math.log(m/(n-m)) - lam)/s])
        print(f"perturbed_pmf(m={m}, n={n}, x={x}, sigma={s}) = {v:.15g}")

def russia(path):
    with zipfile.ZipFile(path) as z:
        name = [n for n in z.namelist() if n.endswith('.csv')][0]
        r = csv.reader(io.TextIOWrapper(z.open(name), encoding='utf-8', newline=''))
        h = next(r)
        rows = list(r)
    col = {n: i for i, n in enumerate(h)}
    find = lambda *w: [i for n, i in col.items() if all(x in n.lower() for x in w)]
    N = find('избирателей', 'список')[0]
    ISS = find('бюллетеней', 'выданных')
    BOX = find('ящиках')
    lead = col['Путин Владимир Владимирович']
    share, turn = collections.Counter(), collections.Counter()
    abroad = 0
    for x in rows:
        reg = x[0]
        if reg[:1].isdigit() or 'Зарубеж' in reg or 'за пределами' in reg:
            abroad += 1
            continue
        c = sum(int(x[i]) for i in BOX)
        b = sum(int(x[i]) for i in ISS)
        n = int(x[N])
        v = int(x[lead])
        if c > 0 and 0 < v < c:
            f = Fraction(v, c)
            if f.denominator <= 10:
                share[f] += 1
        if n > 0 and 0 < b < n:
            f = Fraction(b, n)
            if f.denominator <= 10:
                turn[f] += 1
    print(f"2018: {len(rows)} rows, {abroad} abroad set aside")
    for nm, cnt in (("leader v/C", share), ("turnout B/N", turn)):
        print(f"  {nm}: coarse total {sum(cnt.values())}; " +
              ", ".join(f"{f}: {cnt[f]}" for f in (Fraction(1, 2), Fraction(2, 3), Fraction(3, 4))))

if __name__ == '__main__':
    hand()
    if len(sys.argv) > 1:
        russia(sys.argv[1])
