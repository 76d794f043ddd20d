//! `tallyscope demo`: a simulated election analysed end to end, no download needed.

use crate::error::{Error, Result};
use crate::simulate::{self, SimConfig};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// Simulate a national election with known fraud and analyse it end to end.
///
/// Writes into DIR:
///   election.csv    the protocols (one row per polling station), the input of every
///                   tallyscope command
///   truth.csv       which stations were falsified, how and how much (the answer key)
///   stations.csv, commissions.csv, regions.csv (and .json)
///                   the ranked lists of `tallyscope analyze`, with reasons
///   summary.json, tests.csv, violations.csv
///                   every test's result and every broken control relation
///   README.txt      what each file is and what to open first
/// and prints how well the ranking found each kind of fraud (ROC AUC, hits in the top 1%).
///
/// The election: 100,000 stations in 25 regions, 5 candidates, the clean model of
/// `tallyscope simulate --help`, and this fraud mix (Candidate A benefits):
///   stuffing:0.4:0.5@region=Region 07   40% of Region 07 stuffed with half its non-voters
///   integer:0.3:5@region=Region 12      30% of Region 12 rounded to multiples of 5%
///   stuffing:0.03:0.3                   3% of all stations
///   transfer:0.02:0.2                   2%, a fifth of the others' votes moved to A
///   integer:0.01:5                      1%
///   extreme:0.005:0.95                  0.5%, turnout and share near 100%
///   invented:0.005:0.8                  0.5%, human-written digits
///   copy:0.002                          0.2%, protocols copied within a commission
///   arithmetic:0.002:0.05               0.2%, sums that do not add up
/// Only `arithmetic` (and `copy`, as identical protocols) break the rules `check` tests;
/// the statistical tests and the ranking are what see the other kinds.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output directory (created if missing; an earlier run's files there are removed first).
    #[arg(long, default_value = "tallyscope-demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Number of polling stations.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub stations: usize,
    /// Random seed.
    #[arg(long, default_value_t = 2026, value_name = "S")]
    pub seed: u64,
}

pub fn run(args: Args) -> Result<i32> {
    if args.stations < 1000 {
        return Err(Error::usage(format!(
            "--stations {}: the demo needs at least 1000 stations (25 regions with commissions)",
            args.stations
        )));
    }
    let dir = &args.out;
    let removed = super::folder::prepare_dir(dir)?;
    super::folder::say_removed(dir, &removed);
    let election = dir.join("election.csv");
    let truth = dir.join("truth.csv");
    let violations = dir.join("violations.csv");
    let readme = dir.join("README.txt");

    let t0 = Instant::now();
    let cfg = SimConfig::demo(args.stations, args.seed);
    let sim = simulate::simulate(&cfg)?;
    super::simulate::write_files(&sim, &election, Some(&truth))?;
    eprintln!("{}", super::simulate::summary(&sim));
    eprintln!("simulated and written in {:.2} s", t0.elapsed().as_secs_f64());

    let t1 = Instant::now();
    let ing = crate::ingest::load(&election, &crate::ingest::Options::default())?;
    let a = crate::analysis::run(ing, &crate::analysis::Options { seed: args.seed, calibration_reps: crate::analysis::AUTO_REPS, ..Default::default() });
    let written = super::folder::write_outputs(&a, dir, &crate::export::DEFAULT_FORMATS, true)?;
    print!("{}", super::folder::table(&a));
    let quality = ranking_quality(&a, &sim);
    println!("\n{quality}");
    eprintln!(
        "\nanalyze {}: {} stations in {:.2} s",
        election.display(),
        a.stations,
        t1.elapsed().as_secs_f64()
    );
    let summary = a.check.clone();
    let text = readme_text(&sim, &summary.to_string(), &quality);
    std::fs::write(&readme, text).map_err(|e| Error::io(readme.display().to_string(), e))?;

    eprintln!("\nwrote into {}:", dir.display());
    let mut listed: Vec<(std::path::PathBuf, &str)> = vec![
        (readme.clone(), "start here: what each file is"),
        (dir.join("report.html"), "the report with charts: open it in a browser"),
        (dir.join("stations.csv"), "stations ranked by evidence, with reasons"),
        (dir.join("commissions.csv"), "commissions ranked by aggregated evidence"),
        (truth.clone(), "the answer key: which stations were falsified"),
        (dir.join("summary.json"), "every test's result (integer.either, …)"),
        (dir.join("tests.csv"), "one row per test × unit"),
        (violations.clone(), "broken control relations"),
        (election.clone(), "the protocols (input of every command)"),
    ];
    listed.retain(|(p, _)| p == &readme || p == &truth || p == &election || written.contains(p));
    for (p, what) in listed {
        eprintln!("  {:<40} {what}", p.display().to_string());
    }
    Ok(0)
}

/// How well the ranking found the injected fraud: ROC AUC of the station score against
/// the truth, and precision among the top 1%, per fraud kind and overall.
fn ranking_quality(a: &crate::analysis::Analysis, sim: &simulate::Simulation) -> String {
    use crate::rank::roc_auc;
    let score: Vec<f64> = a.stations_ranked.iter().map(|s| s.score).collect();
    let top = &a.station_order;
    let k = (score.len() / 100).max(1);
    let mut out = String::from("ranking against the truth file (stations.csv vs truth.csv)\n");
    let _ = writeln!(out, "  {:<11} {:>8} {:>8} {:>13}", "kind", "stations", "ROC AUC", "in top 1%");
    let mut kinds: Vec<Option<simulate::FraudKind>> = simulate::FraudKind::ALL.iter().copied().map(Some).collect();
    kinds.push(None);
    for kind in kinds {
        // Positives: that kind (or any kind); negatives: clean stations.
        let keep: Vec<usize> = (0..score.len())
            .filter(|&i| sim.truth[i].fraud.is_none() || kind.is_none() || sim.truth[i].fraud == kind)
            .collect();
        let pos = keep.iter().filter(|&&i| sim.truth[i].fraud.is_some()).count();
        if pos == 0 {
            continue;
        }
        let s: Vec<f64> = keep.iter().map(|&i| score[i]).collect();
        let t: Vec<bool> = keep.iter().map(|&i| sim.truth[i].fraud.is_some()).collect();
        let hits = top[..k].iter().filter(|&&i| sim.truth[i].fraud.is_some() && (kind.is_none() || sim.truth[i].fraud == kind)).count();
        let _ = writeln!(
            out,
            "  {:<11} {:>8} {:>8.3} {:>13}",
            kind.map(|k| k.name()).unwrap_or("any"),
            pos,
            roc_auc(&s, &t),
            format!("{hits} of {k}")
        );
    }
    out
}

fn readme_text(sim: &simulate::Simulation, summary: &str, quality: &str) -> String {
    let c = &sim.config;
    let mut s = String::new();
    let _ = writeln!(s, "tallyscope demo: a simulated election with known fraud, analysed end to end\n");
    let _ = writeln!(
        s,
        "{} polling stations in {} regions and {} commissions, {} candidates, seed {}.\n\
         Reproduce with: tallyscope demo --stations {} --seed {}\n",
        sim.len(),
        sim.region_labels.len(),
        sim.commission_labels.len(),
        sim.candidates.len(),
        c.seed,
        c.stations,
        c.seed
    );
    let _ = writeln!(s, "OPEN FIRST\n");
    let _ = writeln!(
        s,
        "1. stations.csv - every station ranked by the evidence against it, strongest first,\n   \
         with the reasons in plain words (turnout or leader share far above its commission,\n   \
         integer percentages its size makes improbable, broken arithmetic, identical\n   \
         protocols). Compare its top rows with truth.csv: the table below says how well\n   \
         the ranking found the injected fraud.\n\
         2. commissions.csv, regions.csv - units ranked by aggregated evidence.\n\
         3. summary.json, tests.csv - every statistical test: integer-percentage excess\n   \
         (integer.either, .turnout, .leader), shape of the distributions, Shpilkin's\n   \
         anomalous votes; per region with BH q-values.\n\
         4. violations.csv - every protocol whose arithmetic does not add up (file line,\n   \
         station, rule, both sides, gap). fraud = arithmetic in truth.csv: exactly these.\n\
         5. truth.csv - the answer key, one row per station: fraud kind (empty = clean),\n   \
         intensity, turnout and leader share before and after, detail.\n\
         6. election.csv - the protocols, in the layout every command reads without flags.\n   \
         Try: tallyscope inspect election.csv ; tallyscope analyze election.csv --out DIR\n"
    );
    let _ = writeln!(s, "FRAUD INJECTED (Candidate A benefits)\n");
    for spec in &c.frauds {
        let _ = writeln!(s, "  --fraud {spec}");
    }
    let _ = writeln!(s);
    for (k, n) in sim.fraud_counts() {
        let _ = writeln!(s, "  {:<11} {n:>6} stations", k.name());
    }
    for n in &sim.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    let _ = writeln!(s, "\nKinds: see `tallyscope simulate --help`.\n\n{quality}\nCHECK SUMMARY\n\n{summary}");
    s
}
