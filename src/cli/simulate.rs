//! `tallyscope simulate`: a synthetic national election with known fraud.

use crate::error::{Error, Result};
use crate::simulate::observers::{self, ObserverKind};
use crate::simulate::{self, FraudSpec, SimConfig, write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Simulate a national election: protocols plus a ground-truth file.
///
/// Writes one protocol per polling station in the layout every tallyscope command
/// recognises without flags:
///   region,commission,station,registered,received,issued_early,issued_on_day,
///   issued_outside,cancelled,portable_boxes,stationary_boxes,invalid,valid,lost,
///   unaccounted,Candidate A,Candidate B,...
/// and, with --truth, one row per station saying which fraud (if any) was injected:
///   station,region,commission,fraud,intensity,turnout_before,turnout_after,
///   leader_share_before,leader_share_after,detail
/// (turnout = issued/registered, leader share = Candidate A / ballots in boxes).
///
/// THE CLEAN MODEL (defaults in brackets)
///   Hierarchy: --regions regions [20], each with --commissions commissions [about 40
///     stations each]; commission sizes vary (Gamma(3) weights).
///   Registered voters: log-normal mixture, 70% urban (median 1700, log-sd 0.35),
///     26% rural (600, 0.55), 4% tiny (50, 0.6); overall median ~1430, ~3.5% below
///     100, ~4% above 3000.
///   Turnout: logit-normal around --turnout [0.55] with region, commission and station
///     effects of sd --turnout-sd [0.35,0.25,0.30] (logit scale).
///   Leader (Candidate A) share of valid votes: logit-normal around --leader-share
///     [0.60], sds --share-sd [0.30,0.20,0.25]. Other candidates split the rest with
///     weights 0.55^j and their own random effects.
///   Counts: issued ~ Binomial(registered, turnout), ~6% of them outside (portable
///     boxes), 1% early; 0.1% of voters take their ballot away; invalid ~ Binomial(in
///     boxes, --invalid [0.015]); votes multinomial. received = registered rounded up
///     to 10, cancelled = received - issued, lost = unaccounted = 0.
///   Every control relation holds at every clean station (`tallyscope check` finds 0).
///
/// FRAUD: --fraud kind:fraction[:intensity[:city]][@region=NAME|@commission=NAME]
///   fraction = share of the stations in scope (nation, region or commission) that get
///   the kind; a station gets at most one kind; specs apply in the order given (put
///   concentrated ones first). Candidate A always benefits. Kinds and intensity:
///   stuffing   [0.3]  ballots for A from this fraction of the non-voters
///   transfer   [0.2]  this fraction of every other candidate's votes moved to A
///   integer    [5]    turnout and/or A's share (of ballots in boxes) raised to the next
///                     multiple of this many percent, exact to 0.05 pp (Kobak et al.)
///   extreme    [0.95] stuffing and transfer of fraction x ~ intensity +- 0.02: turnout
///                     and share near 100% (Klimek et al.)
///   invented   [0.8]  each count >= 10 gets a human last digit (0 and 5 favoured)
///                     with this probability; relations kept
///   copy       [-]    the protocol of another station of the commission copied
///   arithmetic [0.05] ballots in boxes exceed issued, or votes do not sum to valid,
///                     by this fraction of issued / valid (the only kind `check` sees)
///   transfer-commissions [0.3]  whole commissions: this fraction of the runner-up's
///                     (B's) votes moved to A at every station; turnout and invalid
///                     unchanged (a falsification decided by the commission)
///   stuffing-commissions [0.3]  whole commissions stuffed as `stuffing`
///   For the two *-commissions kinds, fraction is reached by taking every station of
///   randomly chosen commissions; a fourth part `:city` takes the commissions of the
///   largest region (the capital) first, e.g. transfer-commissions:0.33:0.5:city.
///
/// OBSERVERS: --observers FRACTION [--observer-kind copy|minimum|sample]
///   also writes what observers recorded at a random FRACTION of the stations, beside
///   the protocols (election.csv -> election.observed.csv, or --observed FILE), for
///   `tallyscope compare`: copy = the true protocol before any fraud; minimum = a
///   random share (30-90%) of each candidate's true votes, confirmed; sample = true
///   protocols at a simple random sample of stations (a PVT).
///
/// EXAMPLES
///   tallyscope simulate -o election.csv --truth truth.csv
///   tallyscope simulate --stations 100000 --seed 7 -o e.csv --truth t.csv \
///       --fraud stuffing:0.05:0.3 --fraud integer:0.01:5 --fraud copy:0.002
///   tallyscope simulate -o e.csv --truth t.csv --fraud "extreme:0.3@region=Region 04"
///
/// The same seed gives the same bytes on any number of threads.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Protocol CSV to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Ground-truth CSV to write (one row per station).
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Number of polling stations.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub stations: usize,
    /// Number of candidates (Candidate A is the leader).
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub candidates: usize,
    /// Number of regions.
    #[arg(long, default_value_t = 20, value_name = "R")]
    pub regions: usize,
    /// Commissions per region [default: about 40 stations per commission].
    #[arg(long, value_name = "C")]
    pub commissions: Option<usize>,
    /// Random seed.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Median station turnout (issued / registered).
    #[arg(long, default_value_t = 0.55, value_name = "P")]
    pub turnout: f64,
    /// Region, commission and station sds of turnout on the logit scale.
    #[arg(long, default_value = "0.35,0.25,0.30", value_name = "R,C,S", value_parser = parse_sds)]
    pub turnout_sd: Sds,
    /// Median station share of Candidate A among valid votes.
    #[arg(long, default_value_t = 0.60, value_name = "P")]
    pub leader_share: f64,
    /// Region, commission and station sds of A's share on the logit scale.
    #[arg(long, default_value = "0.30,0.20,0.25", value_name = "R,C,S", value_parser = parse_sds)]
    pub share_sd: Sds,
    /// Mean share of invalid ballots.
    #[arg(long, default_value_t = 0.015, value_name = "P")]
    pub invalid: f64,
    /// Fraud to inject (repeatable): kind:fraction[:intensity[:city]][@region=NAME|@commission=NAME].
    #[arg(long, value_name = "SPEC")]
    pub fraud: Vec<FraudSpec>,
    /// Share of the stations whose observers' records are written (see OBSERVERS).
    #[arg(long, value_name = "FRACTION")]
    pub observers: Option<f64>,
    /// What the observers hold (see OBSERVERS).
    #[arg(long, value_enum, default_value_t = ObserverKind::Copy, value_name = "KIND")]
    pub observer_kind: ObserverKind,
    /// Where to write the observers' records [default: beside -o, as NAME.observed.csv].
    #[arg(long, value_name = "FILE")]
    pub observed: Option<PathBuf>,
}

/// `election.csv` → `election.observed.csv` (beside the protocols).
pub fn observed_path(protocols: &Path) -> PathBuf {
    let stem = protocols.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "election".into());
    protocols.with_file_name(format!("{stem}.observed.csv"))
}

/// Three standard deviations (region, commission, station).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sds(pub [f64; 3]);

fn parse_sds(s: &str) -> std::result::Result<Sds, String> {
    let v: Vec<&str> = s.split(',').map(str::trim).collect();
    if v.len() != 3 {
        return Err(format!("\"{s}\": expected three numbers R,C,S (region, commission, station sd)"));
    }
    let mut out = [0.0; 3];
    for (o, x) in out.iter_mut().zip(&v) {
        *o = x
            .parse::<f64>()
            .ok()
            .filter(|f| (0.0..=5.0).contains(f))
            .ok_or_else(|| format!("\"{x}\": each sd must be a number between 0 and 5"))?;
    }
    Ok(Sds(out))
}

impl Args {
    pub fn config(&self) -> SimConfig {
        let d = SimConfig::default();
        SimConfig {
            stations: self.stations,
            candidates: self.candidates,
            regions: self.regions,
            commissions_per_region: self.commissions,
            seed: self.seed,
            turnout: simulate::LogitEffects { centre: self.turnout, sd: self.turnout_sd.0 },
            leader_share: simulate::LogitEffects { centre: self.leader_share, sd: self.share_sd.0 },
            invalid: self.invalid,
            frauds: self.fraud.clone(),
            ..d
        }
    }
}

pub fn run(args: Args) -> Result<i32> {
    let cfg = args.config();
    let t0 = Instant::now();
    let sim = simulate::simulate(&cfg)?;
    let t_sim = t0.elapsed();
    write_files(&sim, &args.output, args.truth.as_deref())?;
    let observed = match args.observers {
        Some(f) => {
            let obs = observers::observe(&sim, f, args.observer_kind)?;
            let p = args.observed.clone().unwrap_or_else(|| observed_path(&args.output));
            let file = std::fs::File::create(&p).map_err(|e| Error::io(p.display().to_string(), e))?;
            observers::write_observed(&sim, &obs, std::io::BufWriter::new(file)).map_err(|e| Error::io(p.display().to_string(), e))?;
            Some((p, obs.stations.len()))
        }
        None => {
            if args.observed.is_some() {
                return Err(Error::usage("--observed FILE needs --observers FRACTION"));
            }
            None
        }
    };
    let t_all = t0.elapsed();
    eprintln!("{}", summary(&sim));
    if let Some((p, n)) = &observed {
        eprintln!("observers ({}) at {n} stations: {}", args.observer_kind.key(), p.display());
    }
    eprintln!(
        "wrote {}{} in {:.2} s (simulate {:.2} s, write {:.2} s)",
        args.output.display(),
        args.truth.as_ref().map(|t| format!(" and {}", t.display())).unwrap_or_default(),
        t_all.as_secs_f64(),
        t_sim.as_secs_f64(),
        (t_all - t_sim).as_secs_f64()
    );
    Ok(0)
}

/// Writes the protocol CSV and, if asked, the truth CSV.
pub fn write_files(sim: &simulate::Simulation, protocols: &Path, truth: Option<&Path>) -> Result<()> {
    let create = |p: &Path| {
        std::fs::File::create(p)
            .map(|f| std::io::BufWriter::with_capacity(1 << 20, f))
            .map_err(|e| Error::io(p.display().to_string(), e))
    };
    write::write_protocols(sim, create(protocols)?).map_err(|e| Error::io(protocols.display().to_string(), e))?;
    if let Some(t) = truth {
        write::write_truth(sim, create(t)?).map_err(|e| Error::io(t.display().to_string(), e))?;
    }
    Ok(())
}

/// A few lines for stderr: size, hierarchy, fraud counts, notes.
pub fn summary(sim: &simulate::Simulation) -> String {
    let c = &sim.config;
    let mut s = format!(
        "simulated {} stations ({} regions, {} commissions, {} candidates, seed {})",
        sim.len(),
        sim.region_labels.len(),
        sim.commission_labels.len(),
        sim.candidates.len(),
        c.seed
    );
    let counts: Vec<String> =
        sim.fraud_counts().into_iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k} {n}")).collect();
    let total: usize = sim.fraud_counts().iter().map(|x| x.1).sum();
    if counts.is_empty() {
        s.push_str("\nfraud: none (a clean election)");
    } else {
        s.push_str(&format!("\nfraud at {total} stations: {}", counts.join(", ")));
    }
    for n in &sim.notes {
        s.push_str("\nnote: ");
        s.push_str(n);
    }
    s
}
