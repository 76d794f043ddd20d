//! The Election Forensics Toolkit's table (`tallyscope eft`, issue 21): EFToolkit's
//! `BasicElectionForensics` (R package EFToolkit, Kalinin & Mebane, built on the USAID
//! Election Forensics Toolkit) with EFT's own definitions, per unit of a level and for the
//! nation, for the turnout counts and each named candidate, each statistic with a
//! bootstrap interval.
//!
//! The battery's digit tests (`digits.*`, [`crate::stats::digits`]) filter counts and
//! denominators on purpose and therefore carry their own names; here every definition is
//! EFT's, under EFT's name.
//!
//! # Variables (EFT: `Candidates`, with `"Turnout"` prepended)
//!
//! * `turnout`: the digit statistics on the ballots cast `B` (EFT's `TotalVotes`; here
//!   ballots issued, else ballots in boxes, else valid votes), the percentage statistics on
//!   the turnout `B/N` (`N` registered voters, EFT's `TotalReg`), capped at 1 (EFT's
//!   `bootAnalT`: `ifelse(turnoutPercent>=1, 1, turnoutPercent)`). No Sobyanin or
//!   Correlation (EFT computes them for candidates only).
//! * a candidate `v`: the digit statistics on the votes `v`, the percentage statistics on
//!   the share `v/B` capped at 1 (EFT's `bootAnalV`). Note the denominator is the ballots
//!   cast, not the valid votes, as in EFT.
//! * `AllLeaders (NAME)` (`--all-leaders`, EFT's `"All Leaders"`): in each unit, the
//!   candidate with the most votes in that unit (ties: the first column), named in the
//!   label; nationally, the national leader.
//!
//! # Statistics (EFT names; `BasicElectionForensics.R`, function `NPAnal` unless noted)
//!
//! * `_2BL`: mean second digit of the counts, over the counts with at least two digits
//!   (`SecondDigitGetter(vot, 2)`: `as.character`, `nchar >= 2`, `substr(·, 2, 2)`);
//!   counts below 10, zeros included, have no second digit and are left out. Null 4.187
//!   (Benford's second-digit mean, [`BENFORD_2BL_MEAN`]).
//! * `LastC`: mean last digit of **all** counts, zeros and one-digit counts included
//!   (`LastDigitGetter`). Null 4.5.
//! * `P05s`: share of the rounded percentages `round(100·p, 0)` whose last digit is 0 or
//!   5, over the stations whose percentage exists. R's `round` rounds half to even on the
//!   double `100·p` (81/200 gives 40.5, which R rounds to 40, not 41); a percentage that is
//!   `NaN` (0/0) or `NA` counts in neither numerator nor denominator (`length(pct100) -
//!   sum(is.na(pct100))`). Every denominator counts, however small. Null 0.2.
//! * `C05s`: share of all counts (zeros included) whose last digit is 0 or 5. Null 0.2.
//! * `Skew`: `moments::skewness` of the (capped) percentages: `m3 / m2^1.5` with
//!   population moments (divisor `n`). Null 0.
//! * `Kurt`: `moments::kurtosis`: `n·Σ(x−x̄)⁴ / (Σ(x−x̄)²)²`, **non-excess** (normal: 3).
//!   Null 3.
//! * `DipT`: p-value of Hartigan's dip test of unimodality (`diptest::dip.test`) on the
//!   **uncapped** percentages (EFT passes `percentCandidateG` / `turnoutPercentG`, not the
//!   capped ones). The dip itself is [`crate::stats::shape::dip_sorted`]; its p-value comes
//!   from this crate's uniform-null simulations ([`dip`]) rather than from `diptest`'s
//!   `qDiptab` interpolation, so it agrees with EFT's to Monte Carlo precision. A p-value,
//!   not bootstrapped (EFT gives none either).
//! * `Sobyanin` (`sobyanin_sukhovolsky`): the OLS slope of the share on the turnout
//!   (`lm(voteshare ~ turnout)`, uncapped, stations with both present) **minus the mean
//!   share** (`mean(voteshare, na.rm=TRUE)`: every station whose share exists, including
//!   ones whose turnout is missing). Reference 0 (EFT: "large positive difference = fraud").
//! * `Correlation` (`correlation_coef`): Pearson correlation of the share and the turnout
//!   (uncapped), `use = "pairwise.complete.obs"`. Reference 0.
//!
//! # Missing cells (`NA`)
//!
//! A missing cell leaves that variable out for that station, not the station: an `NA`
//! candidate cell removes the station from that candidate's statistics only; an `NA`
//! ballots-cast cell removes it from the turnout digits and from every percentage that
//! divides by it (the candidates' digits still count it); an `NA` registered-voters cell
//! removes it from the turnout percentages and from the Sobyanin/Correlation pairs (the
//! mean share still counts it, as in EFT). `n` is EFT's `Obs`: the stations of the unit,
//! whatever they miss. Every published station counts, abroad and special ones included,
//! as in EFT (the battery sets those aside).
//!
//! # Bootstrap intervals (`boot::boot` + `boot::boot.ci(type = "basic")`)
//!
//! `reps` resamples of the unit's stations with replacement (EFT: `R = 1000`); the
//! interval is the **basic** one, `(2t₀ − t*₍₀.₉₇₅₎, 2t₀ − t*₍₀.₀₂₅₎)`, the quantiles by
//! `boot`'s `norm.inter` (interpolation on the normal-quantile scale between the order
//! statistics around `(R+1)·α`, non-finite replicates dropped); no interval when all
//! replicates are equal (`boot.ci` refuses). Sobyanin and Correlation get intervals too
//! (EFT gives them none). All variables of a unit share each resample. Replicate `b` of
//! unit `u` draws from ChaCha8 seeded with the seed and the unit's label, stream `b`:
//! the table is identical for any number of threads. R's own random stream cannot be
//! reproduced, so the intervals agree with EFT's to Monte Carlo precision only.
//!
//! # Significance and colours
//!
//! Each interval is turned into a p-value against its null (the smallest level whose basic
//! interval excludes the null: `2·min(#{t* ≤ 2t₀−θ₀}, #{t* ≥ 2t₀−θ₀})` out of `R`, each
//! count plus one over `R+1`); DipT's p is its own. Benjamini–Hochberg q-values are taken
//! across the units of the level for each variable and statistic ([`EftCell::q`]); EFT's
//! HTML colours uncorrected cells and tests Sobyanin against 1.645 and Correlation against
//! `|r| > 0.4` — neither is copied.
//!
//! # EFT bugs not copied
//!
//! * Digits come from `as.character(num)`: a count stored as a double that R prints in
//!   scientific notation (`100000` → `"1e+05"`, and any count ≥ 1e15) gives the second
//!   digit `"e"` (dropped) and the last digit `5`. Here digits are always those of the
//!   decimal count.
//! * An `Inf` turnout (ballots at a station with 0 registered) makes `lm` stop and the
//!   correlation `NaN` in EFT; here non-finite values are left out of the dip, Sobyanin and
//!   Correlation (the capped percentage, 1, still enters P05s/Skew/Kurt, as in EFT).
//! * `NA` values reach `dip.test` in EFT; here they are left out.

mod bootstrap;
pub mod data;
pub mod dip;
pub mod interval;
pub mod stats;

pub use bootstrap::run;
pub use data::{UnitLevel, VariableChoice};

use serde::Serialize;

/// Benford's law mean of the second digit: `Σ_d d · Σ_{k=1..9} log10(1 + 1/(10k + d))`.
pub const BENFORD_2BL_MEAN: f64 = 4.187_389_706_928_942_5;

/// The statistics of EFT's table, in EFT's column order (`MethNames`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Stat {
    SecondDigit,
    LastC,
    P05s,
    C05s,
    Skew,
    Kurt,
    DipT,
    Sobyanin,
    Correlation,
}

impl Stat {
    pub const ALL: [Stat; 9] =
        [Stat::SecondDigit, Stat::LastC, Stat::P05s, Stat::C05s, Stat::Skew, Stat::Kurt, Stat::DipT, Stat::Sobyanin, Stat::Correlation];

    /// EFT's column name.
    pub fn name(self) -> &'static str {
        match self {
            Stat::SecondDigit => "_2BL",
            Stat::LastC => "LastC",
            Stat::P05s => "P05s",
            Stat::C05s => "C05s",
            Stat::Skew => "Skew",
            Stat::Kurt => "Kurt",
            Stat::DipT => "DipT",
            Stat::Sobyanin => "Sobyanin",
            Stat::Correlation => "Correlation",
        }
    }

    /// The value under the null (for DipT: the significance is its p-value itself).
    pub fn null(self) -> f64 {
        match self {
            Stat::SecondDigit => BENFORD_2BL_MEAN,
            Stat::LastC => 4.5,
            Stat::P05s | Stat::C05s => 0.2,
            Stat::Skew | Stat::Sobyanin | Stat::Correlation | Stat::DipT => 0.0,
            Stat::Kurt => 3.0,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Options of [`run`].
#[derive(Debug, Clone)]
pub struct EftOptions {
    /// Units besides the nation.
    pub level: UnitLevel,
    pub variables: VariableChoice,
    /// Bootstrap resamples per unit (EFT's `R`, 1000); 0 = point values only.
    pub reps: usize,
    /// Simulations per reference size of the dip test's uniform null.
    pub dip_reps: usize,
    pub seed: u64,
    /// Interval level `1 − alpha` (0.05) and the BH level of the colours.
    pub alpha: f64,
}

impl Default for EftOptions {
    fn default() -> Self {
        EftOptions { level: UnitLevel::Region, variables: VariableChoice::AllLeaders, reps: 1000, dip_reps: 1000, seed: 20_151_025, alpha: 0.05 }
    }
}

/// One statistic of one row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EftCell {
    /// Point value (`None`: EFT's `NA`, e.g. no count with two digits).
    pub value: Option<f64>,
    /// Basic bootstrap interval.
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    /// p against the null (interval inverted, or DipT's own).
    pub p: Option<f64>,
    /// Benjamini–Hochberg q among the units of the level (the nation: its p).
    pub q: Option<f64>,
}

impl EftCell {
    /// The interval excludes the null value (uncorrected).
    pub fn excludes_null(&self, s: Stat) -> bool {
        if s == Stat::DipT {
            return false;
        }
        match (self.lo, self.hi) {
            (Some(lo), Some(hi)) => hi < s.null() || lo > s.null(),
            _ => false,
        }
    }
}

/// One row: a unit × a variable.
#[derive(Debug, Clone, Serialize)]
pub struct EftRow {
    /// `National`, or the unit's label.
    pub unit: String,
    /// `turnout`, a candidate's name, or `AllLeaders (NAME)`.
    pub variable: String,
    /// The variable's family for the BH correction (`AllLeaders` for all leaders).
    pub family: String,
    /// Stations in the unit (EFT's `Obs`).
    pub n: usize,
    /// Cells in [`Stat::ALL`] order.
    pub cells: [EftCell; 9],
}

/// The whole table.
#[derive(Debug, Clone, Serialize)]
pub struct EftTable {
    pub rows: Vec<EftRow>,
    /// What the units are (`region`, `commission`, or empty for the nation only).
    pub level: String,
    pub reps: usize,
    pub seed: u64,
    pub alpha: f64,
    /// What was read and chosen (ballots column, leaders, stations without a level).
    pub notes: Vec<String>,
}
