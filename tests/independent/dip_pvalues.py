"""Independent dip-test p-values for shape::dip_pvalue_table (cited in src/stats/shape.rs).

Python package `diptest` 0.12.0 (pip install diptest; C++ port of Maechler's R `diptest`),
whose p-value interpolates the qDiptab table of R's diptest (simulated by Maechler, 10^5+
draws per n). Samples: two normal components of n = 6000 at increasing separation, and uniform samples.
"""
import numpy as np, diptest
rng = np.random.default_rng(7)
n = 6000
for sep in [2.2, 2.3, 2.4, 2.45, 2.5, 2.55]:
    x = np.concatenate([rng.normal(0, 1, n // 2), rng.normal(sep, 1, n - n // 2)])
    d, p = diptest.diptest(x)
    print(f"({d:.10f}, {p:.6f}),  // normals {sep} apart")
for k in range(6):
    d, p = diptest.diptest(rng.uniform(size=n))
    print(f"({d:.10f}, {p:.6f}),  // uniform")
