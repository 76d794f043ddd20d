//! `tallyscope calibrate [FILE]`: type-I rates and power of every test on simulated
//! elections (DESIGN.md §3 "Calibration before conclusions").

use crate::calibrate::{self, Calibration, Power, Preset, Report, Verdict};
use crate::error::{Error, Result};
use crate::export::thousands;
use crate::simulate::{FraudSpec, SimConfig, like};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Measure how often each test rejects clean elections (and, with --power, elections
/// with known fraud) shaped like your file or like a preset.
///
/// WHAT CALIBRATION MEANS
///   A p-value says "if nothing were wrong, a result this extreme would happen with
///   probability p". That is only true when the test's null model fits data shaped like
///   yours: station sizes, spread of turnout and shares, hierarchy. Classical digit
///   nulls, for instance, reject honest elections with small stations most of the time.
///   So tallyscope simulates many clean elections (no fraud at all) shaped like the
///   data, runs the whole battery on each, and counts how often each test says
///   "significant at level α". A valid test does so in about α of the replicates.
///
/// READING THE TYPE-I TABLE
///   test      the test's name, as in `analyze` (tests.csv, summary.json)
///   level     nation, or region/commission pooled over all units (--all-levels)
///   rej/R     clean replicates (or units) with p <= α, out of those that gave a p
///   rate      that share: the test's real type-I rate on data like this (its
///             "calibrated alpha"); compare it with α
///   95% CI    Clopper-Pearson interval of the rate (more --reps: narrower)
///   @0.01     the rate at α = 0.01
///   verdict   ok                   the rate is compatible with α: trust its p-values
///             conservative         rejects clearly less often than α: its p-values
///                                  are valid but too large (less power)
///             not applicable here  rejects more often than 1.6 α (0.08 at α = 0.05),
///                                  and significantly more than α (binomial, 5%):
///                                  its p-values are too small on data like this and
///                                  are not evidence of anything
///   Shape and correlation statistics without a p-value are descriptive and not listed.
///
/// READING THE POWER TABLE (--power)
///   Each column is a fraud kind injected into a share of the stations at a realistic
///   intensity (the simulator's --fraud specs; change them with --fraud). A cell is the
///   share of replicates in which the test rejected at α: high = the test sees this
///   kind of fraud. Digit and fraction tests do not see proportional stuffing; turnout
///   distributions, fingerprints and the ranking do. `checks.any_violation` is the
///   protocol arithmetic check. The ranking rows give the ROC AUC of the station score
///   against the known falsified stations (1 = perfect, 0.5 = chance) and the share of
///   falsified stations among the top 1% of the list.
///
/// SHAPED LIKE YOUR FILE
///   With FILE, the replicates keep the file's registered voters per station and its
///   region > commission structure (or, with --stations N, N stations resampled from
///   its sizes), with turnout and leader-share centres and region / commission / station
///   spreads estimated from the file (logit scale, method of moments). Without FILE, a
///   preset: national (the simulator's default model), small-stations (100-900 voters,
///   where digit nulls break), large-stations (1,500-5,000 voters).
///
/// EXAMPLES
///   tallyscope calibrate --reps 200
///   tallyscope calibrate --preset small-stations --stations 2000 --reps 400
///   tallyscope calibrate election.csv --reps 100 --power --json calibration.json
///
/// Replicates run in parallel; the numbers depend on --seed only, not on the thread count.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Protocol file to shape the simulations like (CSV, zip, gz; see `inspect`).
    #[arg(value_name = "FILE", conflicts_with = "preset")]
    pub file: Option<PathBuf>,
    /// Mapping file for FILE (as in `analyze --mapping`).
    #[arg(long, value_name = "FILE", requires = "file")]
    pub mapping: Option<PathBuf>,
    /// Field delimiter of FILE (as in `analyze --delimiter`).
    #[arg(long, value_name = "CHAR", requires = "file")]
    pub delimiter: Option<String>,
    /// The leader's column or name in FILE (default: most votes nationally).
    #[arg(long, value_name = "NAME", requires = "file")]
    pub leader: Option<String>,
    /// With FILE: how the turnout and share spreads are estimated: robust (scaled MADs,
    /// the core of the distribution) or moments (nested ANOVA, the variances, fraud
    /// tail included).
    #[arg(long, value_name = "HOW", default_value = "robust", value_parser = ["robust", "moments"], requires = "file")]
    pub estimator: String,
    /// Simulated setting when no FILE is given.
    #[arg(long, value_name = "NAME", default_value = "national",
          value_parser = ["national", "small-stations", "large-stations"])]
    pub preset: String,
    /// Clean replicates.
    #[arg(long, default_value_t = 200, value_name = "R")]
    pub reps: usize,
    /// Stations per replicate (preset default 20,000; with FILE: the file's own stations
    /// unless given, then resampled).
    #[arg(long, value_name = "N")]
    pub stations: Option<usize>,
    /// Master seed (replicate seeds derive from it).
    #[arg(long, default_value_t = 20_260_301, value_name = "S")]
    pub seed: u64,
    /// Significance level of the verdicts and the power table (0.01 is always shown too).
    #[arg(long, default_value_t = 0.05, value_name = "A")]
    pub alpha: f64,
    /// Also measure power against each fraud kind and the ranking's quality.
    #[arg(long)]
    pub power: bool,
    /// Replicates per fraud spec for --power.
    #[arg(long, default_value_t = 50, value_name = "R")]
    pub power_reps: usize,
    /// Fraud specs of the power table (repeatable; default: every kind at a realistic
    /// intensity: stuffing:0.05:0.3 transfer:0.05:0.2 integer:0.02:5 extreme:0.01:0.95
    /// invented:0.05:0.8 copy:0.01 arithmetic:0.01:0.05). Implies --power.
    #[arg(long, value_name = "SPEC")]
    pub fraud: Vec<FraudSpec>,
    /// Skip the Klimek et al. fingerprint fit in each replicate (faster).
    #[arg(long)]
    pub no_fingerprint: bool,
    /// Also print the per-region (and per-commission) rows, pooled over units.
    #[arg(long)]
    pub all_levels: bool,
    /// With --power: write which tests see which fraud (the report's table; see
    /// `calibrate::PowerSummary`) as JSON.
    #[arg(long, value_name = "PATH")]
    pub power_summary: Option<PathBuf>,
    /// Write everything (settings, type-I rows at every level, power) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// The file's input options through the same parser `analyze` uses.
#[derive(Debug, clap::Parser)]
struct InputOnly {
    #[command(flatten)]
    input: super::input::InputArgs,
}

fn load_like(args: &Args, file: &std::path::Path) -> Result<(String, SimConfig, like::Shape)> {
    use clap::Parser;
    let mut argv: Vec<std::ffi::OsString> = vec!["calibrate".into(), file.as_os_str().into()];
    if let Some(m) = &args.mapping {
        argv.push("--mapping".into());
        argv.push(m.as_os_str().into());
    }
    if let Some(d) = &args.delimiter {
        argv.push("--delimiter".into());
        argv.push(d.into());
    }
    let input = InputOnly::try_parse_from(argv).map_err(|e| Error::usage(e.to_string()))?.input;
    let ing = input.load()?;
    super::input::report_rows(&ing.report);
    let e = ing.election;
    let leader = match &args.leader {
        None => None,
        Some(name) => Some(
            e.candidates
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| Error::usage(format!("--leader \"{name}\": no such candidate")))?,
        ),
    };
    let (cfg, shape) = like::like(
        &e,
        &like::LikeOptions {
            leader,
            stations: args.stations,
            seed: args.seed,
            estimator: if args.estimator == "moments" { like::Estimator::Moments } else { like::Estimator::Robust },
        },
    )?;
    Ok((format!("like {}", file.display()), cfg, shape))
}

pub fn run(args: Args) -> Result<i32> {
    let t0 = Instant::now();
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(Error::usage(format!("--alpha {}: must be in (0, 1)", args.alpha)));
    }
    let (name, cfg, shape) = match &args.file {
        Some(f) => {
            let (n, c, s) = load_like(&args, f)?;
            (n, c, Some(s))
        }
        None => {
            let p = Preset::from_name(&args.preset).expect("clap checked the name");
            let n = args.stations.unwrap_or(p.default_stations());
            (format!("preset {}", p.name()), p.config(n), None)
        }
    };
    if let Some(s) = &shape {
        eprintln!("{}", describe_shape(s));
    }
    let mut alphas = vec![args.alpha];
    if args.alpha != 0.01 {
        alphas.push(0.01);
    }
    let opt = calibrate::Options {
        reps: args.reps,
        seed: args.seed,
        alphas,
        not_applicable_above: None,
        analysis: crate::analysis::Options {
            bootstrap: 0,
            fingerprint: !args.no_fingerprint,
            ..Default::default()
        },
    };
    let specs = if args.fraud.is_empty() { calibrate::default_power_specs() } else { args.fraud.clone() };
    let power_reps = if args.power || !args.fraud.is_empty() { args.power_reps } else { 0 };
    let total = args.reps + power_reps * if power_reps > 0 { specs.len() } else { 0 };
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} replicates, {elapsed} (eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b.set_message("calibrating");
        b
    } else {
        ProgressBar::hidden()
    };
    let tick = || bar.inc(1);
    let report = calibrate::run(&name, &cfg, &opt, &specs, power_reps, &tick)?;
    bar.finish_and_clear();
    print!("{}", type_i_table(&report.type_i, args.all_levels));
    if !report.power.is_empty() {
        print!("\n{}", power_table(&report.power));
    }
    if let Some(path) = &args.power_summary {
        if report.power.is_empty() {
            return Err(Error::usage("--power-summary needs --power"));
        }
        let source = format!("tallyscope {}", std::env::args().skip(1).map(|a| crate::report::shell_quote(&a)).collect::<Vec<_>>().join(" "));
        let s = serde_json::to_string_pretty(&report.power_summary(&source)).map_err(|e| Error::usage(e.to_string()))?;
        std::fs::write(path, s + "\n").map_err(|e| Error::io(path.display().to_string(), e))?;
    }
    if let Some(path) = &args.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            shape: Option<&'a like::Shape>,
            #[serde(flatten)]
            report: &'a Report,
        }
        let s = serde_json::to_string_pretty(&Out { shape: shape.as_ref(), report: &report })
            .map_err(|e| Error::usage(format!("JSON: {e}")))?;
        std::fs::write(path, s + "\n").map_err(|e| Error::io(path.display().to_string(), e))?;
    }
    eprintln!(
        "tallyscope: calibrated in {:.1} s (type I {:.1} s, power {:.1} s){}",
        t0.elapsed().as_secs_f64(),
        report.type_i.seconds,
        report.power_seconds,
        args.json.as_ref().map(|p| format!("; wrote {}", p.display())).unwrap_or_default()
    );
    Ok(0)
}

/// What was estimated from the file, for stderr.
pub fn describe_shape(s: &like::Shape) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "shaped like {}: {} stations ({} set aside), {} regions, {} commissions, {} candidates, leader {}",
        s.source,
        thousands(s.stations as u64),
        thousands(s.set_aside as u64),
        s.regions,
        s.commissions,
        s.candidates,
        s.leader
    );
    for (name, c) in [("turnout", &s.turnout), ("leader share", &s.leader_share)] {
        let _ = writeln!(
            o,
            "  {name}: centre {:.3}, sds region {:.3} commission {:.3} station {:.3} (logit; robust {:.3}/{:.3}/{:.3}, moments {:.3}/{:.3}/{:.3}; observed station sd {:.3}, binomial part {:.3})",
            c.centre,
            c.sd[0],
            c.sd[1],
            c.sd[2],
            c.sd_robust[0],
            c.sd_robust[1],
            c.sd_robust[2],
            c.sd_moments[0],
            c.sd_moments[1],
            c.sd_moments[2],
            c.observed_sd,
            c.binomial_var.sqrt()
        );
    }
    let _ = write!(
        o,
        "  registered voters: {}",
        s.registered_quantiles.iter().map(|(p, q)| format!("{:.0}%: {q:.0}", 100.0 * p)).collect::<Vec<_>>().join(", ")
    );
    o
}

/// The type-I table as text.
pub fn type_i_table(c: &Calibration, all_levels: bool) -> String {
    let mut s = String::new();
    let st = &c.setting;
    let _ = writeln!(
        s,
        "type-I calibration: {}, {} stations ({} regions, {} commissions; registered voters 10/50/90%: {:.0}/{:.0}/{:.0}), {} clean replicates, seed {}",
        st.name,
        thousands(st.stations as u64),
        st.regions,
        st.commissions,
        st.registered_p10_p50_p90[0],
        st.registered_p10_p50_p90[1],
        st.registered_p10_p50_p90[2],
        c.reps,
        c.seed
    );
    let a0 = c.alphas[0];
    let a1 = c.alphas.get(1).copied();
    let _ = writeln!(
        s,
        "\n{:<40} {:<10} {:>10} {:>7} {:>16} {:>7}  verdict (α = {a0}; not applicable above {:.3})",
        "test",
        "level",
        "rej/R",
        "rate",
        "95% interval",
        a1.map(|a| format!("@{a}")).unwrap_or_default(),
        c.not_applicable_above
    );
    for r in c.rows.iter().filter(|r| all_levels || r.level == "nation") {
        let q = &r.rates[0];
        let _ = writeln!(
            s,
            "{:<40} {:<10} {:>10} {:>7.3} {:>16} {:>7}  {}",
            r.test,
            r.level,
            format!("{}/{}", q.rejections, q.n),
            q.rate,
            format!("[{:.3}, {:.3}]", q.lo, q.hi),
            r.rates.get(1).map(|x| format!("{:.3}", x.rate)).unwrap_or_default(),
            match r.verdict {
                Verdict::Ok => "ok".to_string(),
                v => v.to_string().to_uppercase(),
            }
        );
    }
    let hidden = c.rows.iter().filter(|r| r.level != "nation").count();
    if !all_levels && hidden > 0 {
        let bad = c.rows.iter().filter(|r| r.level != "nation" && r.verdict == Verdict::NotApplicable).count();
        let _ = writeln!(s, "({hidden} per-region/commission rows pooled over units not shown, {bad} of them not applicable: --all-levels)");
    }
    let _ = writeln!(
        s,
        "\nranking: {:.3}% of clean stations flagged (target 0.05-0.2%); clean replicates with a protocol violation: {:.1}%",
        100.0 * c.clean_flagged_share,
        100.0 * c.clean_violation_rate
    );
    s
}

/// The power table (tests × fraud kinds) and the ranking's quality, as text.
pub fn power_table(p: &[Power]) -> String {
    let mut s = String::new();
    let Some(first) = p.first() else { return s };
    let _ = writeln!(
        s,
        "power at α = {} ({} replicates per kind; share of replicates rejecting):",
        first.alpha, first.reps
    );
    let w = 11;
    let _ = write!(s, "{:<40}", "test \\ fraud");
    for k in p {
        let _ = write!(s, " {:>w$}", k.kind);
    }
    let _ = write!(s, "\n{:<40}", "spec");
    for k in p {
        let spec = k.spec.split_once(':').map(|x| x.1).unwrap_or(&k.spec);
        let _ = write!(s, " {spec:>w$}");
    }
    let _ = write!(s, "\n{:<40}", "falsified stations (mean)");
    for k in p {
        let _ = write!(s, " {:>w$.1}", k.fraud_stations);
    }
    s.push('\n');
    let mut tests: Vec<&str> = Vec::new();
    for k in p {
        for r in &k.tests {
            if !tests.contains(&r.test.as_str()) {
                tests.push(&r.test);
            }
        }
    }
    for t in tests {
        let _ = write!(s, "{t:<40}");
        for k in p {
            match k.rate(t) {
                Some(x) => {
                    let _ = write!(s, " {x:>w$.2}");
                }
                None => {
                    let _ = write!(s, " {:>w$}", "-");
                }
            }
        }
        s.push('\n');
    }
    let _ = write!(s, "\n{:<40}", "ranking ROC AUC (mean)");
    for k in p {
        let _ = write!(s, " {:>w$.3}", k.auc.mean);
    }
    let _ = write!(s, "\n{:<40}", "ranking ROC AUC (min)");
    for k in p {
        let _ = write!(s, " {:>w$.3}", k.auc.min);
    }
    let _ = write!(s, "\n{:<40}", "precision among top 1% (mean)");
    for k in p {
        let _ = write!(s, " {:>w$.3}", k.precision_top1.mean);
    }
    s.push('\n');
    s
}
