#!/usr/bin/env python3
"""Independent recount of the control-relation violations in the Russian files.

Written from DESIGN.md section 2 with Python's csv module and positional columns (no code
shared with tallyscope). Its output is pasted into tests/ru_data.rs, which asserts that
`tallyscope check` agrees.  Usage: python3 tests/independent/check_ru.py ../shared/data/ru/2018.csv.zip
"""
import collections, csv, io, sys, zipfile

def main(path):
    with zipfile.ZipFile(path) as z:
        name = [n for n in z.namelist() if n.endswith('.csv')][0]
        text = io.TextIOWrapper(z.open(name), encoding='utf-8', newline='')
        r = csv.reader(text)
        h = next(r)
        rows = list(r)
    col = {n: i for i, n in enumerate(h)}
    def find(*words, exclude=()):
        return [i for n, i in col.items() if all(w in n.lower() for w in words) and not any(x in n.lower() for x in exclude)]
    N = find('избирателей', 'список')[0]
    REC = find('бюллетеней', 'полученных')[0]
    ISS = find('бюллетеней', 'выданных')
    CAN = find('погашенных', 'бюллетеней')[0]
    BOX = find('ящиках')
    INV = find('недействительных')[0]
    VAL = find('действительных', exclude=('недействительных',))[0]
    LOST = find('утраченных', 'бюллетеней')[0]
    UNACC = find('не учтенных')[0]
    # candidates: every column after the last protocol line ("Число…") and before url
    last_line = max(i for n, i in col.items() if n.startswith('Число'))
    cands = list(range(last_line + 1, len(h) - 1))
    c = collections.Counter()
    ids = collections.Counter()
    vecs = collections.Counter()
    for x in rows:
        v = lambda i: int(x[i])
        b = sum(v(i) for i in ISS)
        box = sum(v(i) for i in BOX)
        votes = tuple(v(i) for i in cands)
        if b > v(N): c['issued_le_registered'] += 1
        if box > b: c['boxes_le_issued'] += 1
        if v(VAL) + v(INV) != box: c['valid_plus_invalid'] += 1
        if sum(votes) != v(VAL): c['votes_sum_valid'] += 1
        if v(REC) != b + v(CAN) + v(LOST) - v(UNACC): c['ballot_balance'] += 1
        ids[(x[0], x[2])] += 1
        if sum(votes) >= 30:
            vecs[(x[0], x[1], votes)] += 1
    c['duplicate_id'] = sum(n - 1 for n in ids.values() if n > 1)
    c['identical_protocol'] = sum(n - 1 for n in vecs.values() if n > 1)
    print(len(rows), dict(sorted(c.items())))

if __name__ == '__main__':
    main(sys.argv[1])
