//! The clean model of one file, fitted once, and its draws (module docs of [`super`], "The
//! clean model").

use super::*;

// ---------------------------------------------------------------------------------------
// The model

/// The clean model of one file (see the module docs).
#[derive(Debug, Clone)]
pub struct Model {
    /// Simulated stations (indices into the election), in order of registered voters then
    /// ballots in boxes (then file order).
    pub stations: Vec<usize>,
    /// Per simulated station: region (0 without hierarchy) and commission.
    pub(super) region: Vec<u32>,
    pub(super) comm: Vec<u32>,
    pub(super) n_regions: usize,
    /// Registered voters (0 when absent), ballots in boxes (integer test's share
    /// denominator), shape's box count, valid votes (share denominator), total of votes.
    pub(super) reg: Vec<u32>,
    pub(super) boxes_int: Vec<u32>,
    pub(super) boxes_shape: Vec<u64>,
    pub(super) valid: Vec<u64>,
    pub(super) total: Vec<u32>,
    pub(super) has_turnout: bool,
    pub(super) has_integer: bool,
    /// Commission logits of turnout and of the conditional shares (`[c * (k−1) + j]`).
    pub(super) lt: Vec<f64>,
    pub(super) ls: Vec<f64>,
    pub(super) sd_t: f64,
    pub(super) sd_s: Vec<f64>,
    /// Draw order of the candidates (decreasing national votes).
    pub(super) order: Vec<usize>,
    pub(super) k: usize,
    pub(super) leader: usize,
    pub(super) summary: ModelSummary,
}

/// Expected ratio per commission with the region (then nation) fallback, as logits.
pub(super) fn commission_logits(num: &[f64], den: &[f64], cnt: &[usize], comm_region: &[u32], n_regions: usize) -> (Vec<f64>, usize) {
    let mut rn = vec![0.0; n_regions];
    let mut rd = vec![0.0; n_regions];
    for c in 0..num.len() {
        rn[comm_region[c] as usize] += num[c];
        rd[comm_region[c] as usize] += den[c];
    }
    let (tn, td): (f64, f64) = (rn.iter().sum(), rd.iter().sum());
    let clamp = |x: f64| x.clamp(1e-6, 1.0 - 1e-6);
    let nat = if td > 0.0 { clamp(tn / td) } else { 0.5 };
    let mut small = 0;
    let l = (0..num.len())
        .map(|c| {
            let r = comm_region[c] as usize;
            let p = if cnt[c] >= MIN_COMMISSION && den[c] > 0.0 {
                clamp(num[c] / den[c])
            } else {
                small += 1;
                if rd[r] > 0.0 { clamp(rn[r] / rd[r]) } else { nat }
            };
            logit(p)
        })
        .collect();
    (l, small)
}

/// Robust station-level logit sd of `(x, n)` pairs per commission (`n ≥ min_n`).
pub(super) fn station_sd(pairs: &[(u64, u64, u32)], min_n: u64, comm_region: &[u32], n_regions: usize) -> Option<f64> {
    let (mut y, mut w, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for &(x, n, cm) in pairs {
        if n >= min_n {
            let (a, b) = elogit(x.min(n), n);
            y.push(a);
            w.push(b);
            c.push(cm as usize);
        }
    }
    if y.len() < 10 {
        return None;
    }
    let cr: Vec<usize> = comm_region.iter().map(|&r| r as usize).collect();
    Some(components(&y, &w, &c, &cr, n_regions, Estimator::Robust).sd_robust[2])
}

impl Model {
    /// Fits the model to `e` (leader: candidate index; `None` = most votes).
    pub fn fit(e: &Election, leader: Option<usize>) -> Option<Model> {
        let k = e.votes.len();
        if k == 0 || e.is_empty() {
            return None;
        }
        let leader = leader.filter(|&j| j < k).or_else(|| e.leader())?;
        let special = e.special.len() == e.len();
        let mut stations: Vec<usize> = (0..e.len()).filter(|&i| !special || e.special[i].is_none()).collect();
        // Simulated in order of (registered voters, ballots in boxes): the integer null's memo
        // is read per denominator, so neighbours share its cache lines. Ties by the station's
        // unit labels and id, then file order: the same protocols in another row order get
        // the same draws (the props test shuffles rows).
        let reg = e.get(Role::Registered);
        let boxes = e.get(Role::InBoxes);
        let labels = |i: usize| -> Vec<&str> { e.levels.iter().map(|l| l.labels[l.code[i] as usize].as_str()).collect() };
        stations.sort_by(|&a, &b| {
            (reg.map_or(0, |r| r[a]), boxes.map_or(0, |c| c[a]))
                .cmp(&(reg.map_or(0, |r| r[b]), boxes.map_or(0, |c| c[b])))
                .then_with(|| labels(a).cmp(&labels(b)))
                .then_with(|| e.station[a].cmp(&e.station[b]))
                .then(a.cmp(&b))
        });
        if stations.is_empty() {
            return None;
        }
        // Hierarchy.
        let (region_full, comm_full): (Vec<u32>, Vec<u32>) = match e.levels.len() {
            0 => (vec![0; e.len()], (0..e.len()).map(|i| (i / 40) as u32).collect()),
            1 => (e.levels[0].code.clone(), e.levels[0].code.clone()),
            n => (e.levels[0].code.clone(), e.levels[n - 1].code.clone()),
        };
        let n_regions = if e.levels.is_empty() { 1 } else { e.levels[0].n_units() };
        let n_comm = comm_full.iter().map(|&c| c as usize + 1).max().unwrap_or(1);
        let mut comm_region = vec![0u32; n_comm];
        let mut cnt = vec![0usize; n_comm];
        for &i in &stations {
            comm_region[comm_full[i] as usize] = region_full[i];
            cnt[comm_full[i] as usize] += 1;
        }
        let region: Vec<u32> = stations.iter().map(|&i| region_full[i]).collect();
        let comm: Vec<u32> = stations.iter().map(|&i| comm_full[i]).collect();
        // Denominators.
        let reg_col = e.get(Role::Registered);
        let num_col = e.get(Role::Issued).or(e.get(Role::InBoxes));
        let has_turnout = reg_col.is_some() && num_col.is_some();
        let reg: Vec<u32> = stations.iter().map(|&i| reg_col.map_or(0, |r| r[i])).collect();
        let sums = e.vote_sums();
        let valid_all = e.valid_or_sum();
        let boxes_int_col: Option<Vec<u32>> = match e.get(Role::InBoxes) {
            Some(c) => Some(c.to_vec()),
            None => match (e.get(Role::Valid), e.get(Role::Invalid)) {
                (Some(v), Some(i)) => Some(v.iter().zip(i).map(|(&a, &b)| a.saturating_add(b)).collect()),
                _ => None,
            },
        };
        let has_integer = has_turnout && boxes_int_col.is_some();
        let boxes_int: Vec<u32> = stations.iter().map(|&i| boxes_int_col.as_ref().map_or(0, |c| c[i])).collect();
        let boxes_shape: Vec<u64> = stations
            .iter()
            .map(|&i| e.get(Role::InBoxes).map_or(sums[i], |c| c[i] as u64))
            .collect();
        let valid: Vec<u64> = stations.iter().map(|&i| valid_all[i]).collect();
        let total: Vec<u32> = stations.iter().map(|&i| sums[i].min(u32::MAX as u64) as u32).collect();
        let mut small_commissions = 0;
        // Turnout.
        let (lt, sd_t) = if has_turnout {
            let b = num_col.unwrap();
            let (mut num, mut den) = (vec![0.0; n_comm], vec![0.0; n_comm]);
            let mut pairs = Vec::with_capacity(stations.len());
            for (s, &i) in stations.iter().enumerate() {
                if reg[s] > 0 {
                    let x = b[i].min(reg[s]);
                    num[comm[s] as usize] += x as f64;
                    den[comm[s] as usize] += reg[s] as f64;
                    pairs.push((x as u64, reg[s] as u64, comm[s]));
                }
            }
            let (l, small) = commission_logits(&num, &den, &cnt, &comm_region, n_regions);
            small_commissions = small;
            (l, station_sd(&pairs, 100, &comm_region, n_regions).unwrap_or(0.0))
        } else {
            (vec![0.0; n_comm], 0.0)
        };
        // Shares, sequentially.
        let totals = e.candidate_totals();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| totals[b].cmp(&totals[a]).then(a.cmp(&b)));
        if let Some(pos) = order.iter().position(|&j| j == leader) {
            order.remove(pos);
            order.insert(0, leader);
        }
        let kk = k.saturating_sub(1);
        let mut ls = vec![0.0; n_comm * kk];
        let mut sd_s = vec![0.0; kk];
        let mut left: Vec<u64> = total.iter().map(|&t| t as u64).collect();
        let mut share_sd = Vec::with_capacity(k);
        for (jj, &j) in order.iter().enumerate().take(kk) {
            let (mut num, mut den) = (vec![0.0; n_comm], vec![0.0; n_comm]);
            let mut pairs = Vec::with_capacity(stations.len());
            for (s, &i) in stations.iter().enumerate() {
                let v = (e.votes[j][i] as u64).min(left[s]);
                num[comm[s] as usize] += v as f64;
                den[comm[s] as usize] += left[s] as f64;
                pairs.push((v, left[s], comm[s]));
                left[s] -= v;
            }
            let (l, _) = commission_logits(&num, &den, &cnt, &comm_region, n_regions);
            for c in 0..n_comm {
                ls[c * kk + jj] = l[c];
            }
            let sd = station_sd(&pairs, 50, &comm_region, n_regions);
            sd_s[jj] = sd.unwrap_or(0.0);
            share_sd.push((e.candidates[j].clone(), sd));
        }
        if let Some(&last) = order.last() {
            share_sd.push((e.candidates[last].clone(), None));
        }
        let summary = ModelSummary {
            stations: stations.len(),
            regions: n_regions,
            commissions: cnt.iter().filter(|&&c| c > 0).count(),
            small_commissions: small_commissions.min(cnt.iter().filter(|&&c| c > 0 && c < MIN_COMMISSION).count()),
            turnout_sd: has_turnout.then_some(sd_t),
            share_sd,
        };
        Some(Model {
            stations,
            region,
            comm,
            n_regions,
            reg,
            boxes_int,
            boxes_shape,
            valid,
            total,
            has_turnout,
            has_integer,
            lt,
            ls,
            sd_t,
            sd_s,
            order,
            k,
            leader,
            summary,
        })
    }

    pub fn summary(&self) -> &ModelSummary {
        &self.summary
    }

    /// Draws one replicate's ballots (turnout numerator) and votes (`votes[s * k + j]`, file
    /// order of candidates) for every simulated station.
    pub fn draw<R: Rng>(&self, rng: &mut R, ballots: &mut Vec<u32>, votes: &mut Vec<u32>) {
        self.draw_some(rng, ballots, votes, true)
    }

    /// As [`Model::draw`]; with `all = false` only the ballots and the leader's votes (the
    /// first of the sequential draws), the others' left at 0: all that the replicates
    /// without digit tests read (the integer and shape tests), at two draws per station
    /// instead of one per candidate.
    pub fn draw_some<R: Rng>(&self, rng: &mut R, ballots: &mut Vec<u32>, votes: &mut Vec<u32>, all: bool) {
        let k = self.k;
        let kk = k.saturating_sub(1);
        let drawn = if all { kk } else { kk.min(1) };
        ballots.clear();
        votes.clear();
        votes.resize(self.stations.len() * k, 0);
        for s in 0..self.stations.len() {
            let c = self.comm[s] as usize;
            let n = self.reg[s];
            let b = if self.has_turnout && n > 0 {
                let t = sigmoid(self.lt[c] + self.sd_t * normal(rng));
                binomial(rng, n, t)
            } else {
                0
            };
            ballots.push(b);
            let row = &mut votes[s * k..(s + 1) * k];
            let mut left = self.total[s];
            for jj in 0..drawn {
                let l = self.ls[c * kk + jj];
                let sd = self.sd_s[jj];
                let x = if left == 0 {
                    0
                } else if jj == 0 || sd == 0.0 {
                    // the leader (the focus of the share tests): logit-normal, then binomial
                    let p = if sd > 0.0 { sigmoid(l + sd * normal(rng)) } else { sigmoid(l) };
                    binomial(rng, left, p)
                } else {
                    overdispersed(rng, left, l, sd)
                };
                row[self.order[jj]] = x;
                left -= x;
            }
            if drawn == kk {
                row[self.order[kk]] = left;
            }
        }
    }

    /// The window of numerators a station can draw (for the integer memo): turnout for
    /// `which = 0`, leader votes for `which = 1`.
    pub(super) fn window(&self, s: usize, which: usize) -> (u32, u32) {
        let c = self.comm[s] as usize;
        let (n, l, sd) = if which == 0 {
            (self.reg[s], self.lt[c], self.sd_t)
        } else if self.k <= 1 {
            // one candidate: every vote is the leader's
            return (self.total[s], self.total[s]);
        } else {
            (self.total[s], self.ls[c * self.k.saturating_sub(1)], self.sd_s.first().copied().unwrap_or(0.0))
        };
        let (lo, hi) = (sigmoid(l - 5.0 * sd), sigmoid(l + 5.0 * sd));
        let spread = 6.0 * (n as f64 / 4.0).sqrt() + 2.0;
        let a = (n as f64 * lo - spread).floor().max(0.0) as u32;
        let b = (n as f64 * hi + spread).ceil().min(n as f64) as u32;
        (a, b)
    }
}

// ---------------------------------------------------------------------------------------
