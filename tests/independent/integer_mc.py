#!/usr/bin/env python3
"""Independent implementation of the integer-percentage test (Kobak, Shpilkin &
Pshenichnikov) by Monte Carlo, vectorised with numpy.

Written from DESIGN.md section 3 and the papers' description, with positional column
lookup by Russian header words (no code shared with tallyscope). Turnout = ballots issued /
registered (B/N); leader share = leader votes / (valid + invalid) (v/C). Inclusion: C > 0,
N >= 100, T <= 0.99, S <= 0.99, stations abroad (region starting with a digit or containing
"Зарубеж" / "за пределами") set aside. A station is integer when
|100 x/n - round(100 x/n)| <= 0.05 (+1e-9 for float noise). Null: numerators redrawn
Binomial(n, x/n), 1,000 draws.

Its output is pasted into tests/integer.rs, which asserts that tallyscope agrees.
Usage: python3 tests/independent/integer_mc.py ../shared/data/ru/2018.csv.zip [draws] [seed]
"""
import csv
import io
import sys
import time
import zipfile

import numpy as np


def load(path):
    with zipfile.ZipFile(path) as z:
        name = [n for n in z.namelist() if n.endswith('.csv')][0]
        text = io.TextIOWrapper(z.open(name), encoding='utf-8', newline='')
        r = csv.reader(text)
        h = next(r)
        rows = list(r)
    low = [c.lower() for c in h]

    def cols(*words, exclude=()):
        return [i for i, n in enumerate(low) if all(w in n for w in words) and not any(x in n for x in exclude)]

    N = cols('избирателей', 'список')[0]
    ISS = cols('бюллетеней', 'выданных')
    VAL = cols('действительных', exclude=('недействительных',))[0]
    INV = cols('недействительных')[0]
    LEAD = [i for i, n in enumerate(h) if 'Путин' in n or 'ПУТИН' in n][0]
    REG = h.index('region')
    num = lambda i: np.array([int(x[i]) for x in rows], dtype=np.int64)
    voters = num(N)
    given = sum(num(i) for i in ISS)
    received = num(VAL) + num(INV)
    leader = num(LEAD)
    region = [x[REG] for x in rows]
    abroad = np.array([(s[:1].isdigit() or 'Зарубеж' in s or 'за пределами' in s) for s in region])
    return voters, given, received, leader, abroad


def is_int(x, n):
    pct = 100.0 * x / n
    return np.abs(pct - np.round(pct)) <= 0.05 + 1e-9


def main(path, draws=1000, seed=1):
    t0 = time.time()
    voters, given, received, leader, abroad = load(path)
    t_load = time.time() - t0
    t1 = time.time()
    with np.errstate(divide='ignore', invalid='ignore'):
        ok = (~abroad) & (received > 0) & (voters >= 100)
        ok &= (given <= 0.99 * voters) & (leader <= 0.99 * received)
    N, B, C, V = voters[ok], given[ok], received[ok], leader[ok]
    it, il = is_int(B, N), is_int(V, C)
    obs = np.array([it.sum(), il.sum(), (it | il).sum()])
    rng = np.random.default_rng(seed)
    pT, pS = B / N, V / C
    sims = np.empty((draws, 3), dtype=np.int64)
    chunk = 25
    for d0 in range(0, draws, chunk):
        k = min(chunk, draws - d0)
        bt = rng.binomial(N, pT, size=(k, N.size))
        bs = rng.binomial(C, pS, size=(k, N.size))
        a, b = is_int(bt, N), is_int(bs, C)
        sims[d0:d0 + k, 0] = a.sum(1)
        sims[d0:d0 + k, 1] = b.sum(1)
        sims[d0:d0 + k, 2] = (a | b).sum(1)
    t_mc = time.time() - t1
    print(f'file {path}: {ok.sum()} stations included of {ok.size} ({abroad.sum()} abroad)')
    for j, name in enumerate(['turnout', 'leader', 'either']):
        m, s = sims[:, j].mean(), sims[:, j].std(ddof=1)
        print(f'{name:8s} observed {obs[j]:6d}  mc mean {m:10.2f}  excess {obs[j] - m:9.2f}  sd {s:7.2f}')
    print(f'draws {draws} seed {seed}; load {t_load:.2f} s; analysis + Monte Carlo {t_mc:.2f} s')


if __name__ == '__main__':
    a = sys.argv[1:]
    main(a[0], int(a[1]) if len(a) > 1 else 1000, int(a[2]) if len(a) > 2 else 1)
