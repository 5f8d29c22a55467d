//! The `wiretrace` command line: parses flags and calls the library.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use wiretrace::{
    Progress, ReadOptions, Report, Settings, read_corpus, scan_with_progress, write_json,
    write_text,
};

/// The binary's allocator: mimalloc, not glibc's malloc. Its per-thread
/// free lists take the millions of small vectors the stages make and drop
/// without glibc's arena locks and heap trimming. Built without its
/// transparent-huge-page advice (`no_thp`): on this VM a run started after
/// a few idle seconds spent more time faulting huge pages in than it saved.
/// Same reports; measured in the README ("Memory allocator"). The library
/// leaves the choice of allocator to its users.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXIT_CODES: &str = "\
Exit codes:
  0  clean run: every input was read
  1  the run failed (for example the report could not be written)
  2  usage error, or a path given on the command line does not exist
  3  the run completed, but some inputs were skipped (listed in the report)";

/// Find reused text across news outlets and name where it came from.
#[derive(Parser, Debug)]
#[command(name = "wiretrace", version, about, after_help = EXIT_CODES)]
struct Cli {
    /// No progress bars (they are shown only when stderr is a terminal).
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find passages that documents share, cluster them, name their origin.
    #[command(after_help = EXIT_CODES)]
    Scan {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        tuning: TuningArgs,
        /// Only compare documents of different outlets.
        #[arg(long)]
        cross_outlet: bool,
    },
    /// Document-level near-duplicates (MinHash + LSH, re-checked on full signatures).
    #[command(after_help = EXIT_CODES)]
    Dedup {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Report pairs whose estimated Jaccard similarity is at least this.
        #[arg(long, default_value_t = 0.5)]
        threshold: f64,
        /// MinHash signature length K.
        #[arg(long, default_value_t = 128)]
        num_perm: usize,
        /// Shingle size in tokens.
        #[arg(long, default_value_t = 5)]
        ngram: usize,
    },
    /// Score a JSON report against ground truth (a generator truth.json or a
    /// gold file such as tests/data/seeds-gold.json).
    Eval {
        /// The truth file.
        #[arg(long)]
        truth: PathBuf,
        /// A `wiretrace scan --format json` report.
        report: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Audit quotations shared by several documents: speakers and credits.
    #[command(after_help = EXIT_CODES)]
    Quotes {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write a synthetic news corpus with planted reuse (DIR/corpus, DIR/truth.json).
    Gen {
        /// Number of documents.
        #[arg(long)]
        docs: usize,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Seed of the generator (same seed, same bytes).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// A persistent index: add articles as they come, check new ones against it.
    #[command(after_help = EXIT_CODES)]
    Index {
        #[command(subcommand)]
        action: IndexCommand,
    },
    /// Serve an index over HTTP: POST /check, POST /documents,
    /// GET /documents/{id}, GET /health (JSON).
    Serve {
        /// Index directory (holds wiretrace.redb; created if missing).
        #[arg(long)]
        db: PathBuf,
        /// Address to listen on (port 0: any free port; the bound address
        /// is printed on standard output).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Largest request body, in bytes (413 beyond).
        #[arg(long, default_value_t = 8 * 1024 * 1024)]
        body_limit: usize,
        /// Request timeout, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
}

#[derive(Subcommand, Debug)]
enum IndexCommand {
    /// Add articles (same inputs as scan). Idempotent by id; an id already
    /// indexed with another text is a conflict and is not overwritten.
    #[command(after_help = EXIT_CODES)]
    Add {
        /// Index directory (holds wiretrace.redb; created if missing).
        #[arg(long)]
        db: PathBuf,
        /// Documents per write transaction: each batch is committed whole
        /// or not at all. Larger batches add faster: a commit rewrites the
        /// pages of the band table it touches, which a batch of thousands
        /// of documents spreads over most of them.
        #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
        batch: u32,
        #[command(flatten)]
        input: InputArgs,
    },
    /// Check articles against the index; prints the same report as scan.
    #[command(after_help = EXIT_CODES)]
    Check {
        /// Index directory.
        #[arg(long)]
        db: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Counts: documents, outlets, bytes.
    Stats {
        /// Index directory.
        #[arg(long)]
        db: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
        format: StatsFormat,
    },
    /// Print every stored document as JSON Lines (id order), with its text
    /// hash; the output can be read back as input.
    Export {
        /// Index directory.
        #[arg(long)]
        db: PathBuf,
    },
}

/// Output format of `index stats`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum StatsFormat {
    Text,
    Json,
}

#[derive(clap::Args, Debug)]
struct InputArgs {
    /// Files and folders to read: .txt files, .jsonl files (one article per
    /// line: id, text, optional outlet, published, url, title).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// CSV of file,outlet,published,url for .txt inputs (a manifest.csv
    /// inside a scanned folder is used automatically).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_file_bytes: u64,
    /// Worker threads (default: one per core). Output does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Args, Debug)]
struct OutputArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct TuningArgs {
    /// Shingle size in tokens.
    #[arg(long, default_value_t = 5)]
    ngram: usize,
    /// Minimum passage length, in tokens shared by both texts.
    #[arg(long, default_value_t = 20)]
    min_tokens: usize,
    /// Largest gap, in tokens, bridged inside one passage.
    #[arg(long, default_value_t = 50)]
    max_gap: usize,
    /// Shingles in more documents than this do not seed passages
    /// (default: the larger of 50 and 0.1% of the documents).
    #[arg(long)]
    max_df: Option<usize>,
    /// Shingles in at least this many documents of one outlet (and in at
    /// least 0.1% of them) are that outlet's boilerplate and do not seed
    /// passages there (0: off).
    #[arg(long, default_value_t = 20)]
    max_outlet_df: usize,
    /// Megabytes of shingled documents held at once (about 8 per megabyte
    /// of text). A larger corpus is shingled in parts, again for each
    /// stage: slower, same report.
    #[arg(long, default_value_t = 1024, value_name = "MB")]
    shingle_memory: usize,
    /// Megabytes of documents' text held in memory. Texts read past it go
    /// to a temporary file (in TMPDIR) and are read back by each stage
    /// that needs them: less memory, same report.
    #[arg(long, default_value_t = TEXT_MEMORY_MB, value_name = "MB")]
    text_memory: u64,
}

/// Default of `--text-memory`.
const TEXT_MEMORY_MB: u64 = 256;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Html,
    Csv,
    Dot,
}

/// An exit code (listed in [`EXIT_CODES`]).
type ExitCode = u8;

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wiretrace: {e:#}");
            match e.downcast_ref::<wiretrace::Error>() {
                Some(wiretrace::Error::Input { .. }) | Some(wiretrace::Error::Settings(_)) => 2,
                _ => 1,
            }
        }
    };
    exit_at_once(code)
}

/// End the process with `code`, skipping the C library's exit handlers.
/// Among them is mimalloc's, which walks every page the run allocated and
/// hands the memory back to the system page by page (`madvise`), work the
/// system does anyway, at once, when the process ends: on `dedup` of
/// Reuters it was a third of the time after the last stage. Everything the
/// run writes is flushed and closed by then (reports are written through
/// buffers that are flushed and dropped, spill files are unlinked when
/// made); standard output and error are flushed here.
fn exit_at_once(code: ExitCode) -> ! {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` only ends the process; no Rust code runs after it,
    // so no invariant can be observed broken.
    unsafe { libc::_exit(i32::from(code)) }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let bars = Bars::new(!cli.quiet && std::io::stderr().is_terminal());
    match cli.command {
        Command::Scan {
            input,
            output,
            tuning,
            cross_outlet,
        } => {
            let defaults = Settings::default();
            let settings = Settings {
                ngram: tuning.ngram,
                align: wiretrace::AlignParams {
                    ngram: tuning.ngram,
                    min_tokens: tuning.min_tokens,
                    max_gap: tuning.max_gap,
                    ..defaults.align
                },
                max_df: tuning.max_df,
                max_outlet_df: (tuning.max_outlet_df > 0).then_some(tuning.max_outlet_df),
                cross_outlet_only: cross_outlet,
                shingle_memory: tuning.shingle_memory.saturating_mul(1 << 20),
                ..defaults
            };
            let text_memory = tuning.text_memory.saturating_mul(1 << 20);
            let report = read_and_scan(&input, text_memory, &settings, &bars)?;
            let code = emit(&report, &output)?;
            end_with(report);
            Ok(code)
        }
        Command::Dedup {
            input,
            output,
            threshold,
            num_perm,
            ngram,
        } => {
            let settings = wiretrace::DedupSettings {
                threshold,
                num_perm,
                ngram,
            };
            let report = wiretrace::dedup_paths(&input.paths, &read_options(&input)?, &settings)?;
            report_skipped(&report.skipped);
            write_to(&output, |out| match output.format {
                Format::Json => wiretrace::write_dedup_json(&report, out),
                _ => wiretrace::write_dedup_text(&report, out),
            })?;
            let code = exit_code(report.skipped.is_empty());
            end_with(report);
            Ok(code)
        }
        Command::Eval {
            truth,
            report,
            format,
        } => {
            let read_json = |p: &PathBuf| -> Result<serde_json::Value> {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                serde_json::from_str(&text).with_context(|| format!("{}: not JSON", p.display()))
            };
            let (truth, report) = (read_json(&truth)?, read_json(&report)?);
            let e =
                wiretrace::evaluate(&truth, &report, &|path| std::fs::read_to_string(path).ok())
                    .map_err(anyhow::Error::msg)?;
            if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                print!("{}", wiretrace::format_evaluation(&e));
            }
            Ok(0)
        }
        Command::Quotes { input, output } => {
            // The audit alone: no passages, clusters or provenance.
            let corpus = read_with_spinner(&input, TEXT_MEMORY_MB << 20, &bars)?;
            let report = wiretrace::quote_report(corpus)?;
            emit(&report, &output)
        }
        Command::Index { action } => run_index(action),
        Command::Serve {
            db,
            listen,
            body_limit,
            timeout,
        } => {
            let options = wiretrace::ServeOptions {
                body_limit,
                timeout: std::time::Duration::from_secs(timeout.max(1)),
            };
            wiretrace::serve_blocking(&db, listen, options)?;
            Ok(0)
        }
        Command::Gen { docs, out, seed } => {
            let s = wiretrace::generate(&out, docs, seed)
                .with_context(|| format!("generating into {}", out.display()))?;
            println!(
                "wrote {} documents ({} bytes) to {}, {} wire stories, {} planted passages, truth in {}",
                s.docs,
                s.bytes,
                out.join("corpus").display(),
                s.clusters,
                s.passages,
                out.join("truth.json").display()
            );
            Ok(0)
        }
    }
}

fn read_and_scan(
    input: &InputArgs,
    text_memory: u64,
    settings: &Settings,
    bars: &Bars,
) -> Result<Report> {
    let corpus = read_with_spinner(input, text_memory, bars)?;
    Ok(scan_with_progress(corpus, settings, bars)?)
}

/// [`read_inputs`] with a spinner while it reads (when bars are on).
fn read_with_spinner(
    input: &InputArgs,
    text_memory: u64,
    bars: &Bars,
) -> Result<wiretrace::Corpus> {
    let spinner = bars.on.then(|| {
        let s = ProgressBar::new_spinner();
        s.set_message("reading inputs");
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    let corpus = read_inputs(input, text_memory);
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    corpus
}

/// Progress bars on stderr (indicatif), one per scan stage.
struct Bars {
    on: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    fn new(on: bool) -> Self {
        Bars {
            on,
            bar: Mutex::new(None),
        }
    }
}

impl Progress for Bars {
    fn start(&self, stage: &'static str, total: u64) {
        if !self.on {
            return;
        }
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(stage);
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

fn read_inputs(input: &InputArgs, text_memory: u64) -> Result<wiretrace::Corpus> {
    let options = ReadOptions {
        text_memory,
        ..read_options(input)?
    };
    let corpus = read_corpus(&input.paths, &options)?;
    report_skipped(&corpus.skipped);
    Ok(corpus)
}

/// Set up the worker threads and the reading options from the flags.
fn read_options(input: &InputArgs) -> Result<ReadOptions> {
    if let Some(n) = input.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("setting up worker threads")?;
    }
    Ok(ReadOptions {
        manifest: input.manifest.clone(),
        max_file_bytes: input.max_file_bytes,
        ..ReadOptions::default()
    })
}

fn report_skipped(skipped: &[wiretrace::Skipped]) {
    for s in skipped {
        eprintln!("wiretrace: skipped {}: {}", s.path, s.reason);
    }
}

fn exit_code(clean: bool) -> ExitCode {
    if clean { 0 } else { 3 }
}

/// Write to `--out` (or standard output) as `write` makes it, through a
/// 1 MiB buffer: a large corpus's JSON report runs to gigabytes, which are
/// never held whole in memory.
fn write_to(
    output: &OutputArgs,
    write: impl Fn(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        write(out)?;
        out.flush()
    };
    match &output.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("writing {}", path.display()))?;
            write(&mut std::io::BufWriter::with_capacity(1 << 20, file))
                .with_context(|| format!("writing {}", path.display()))
        }
        None => write(&mut std::io::BufWriter::with_capacity(
            1 << 20,
            std::io::stdout().lock(),
        ))
        .context("writing to standard output"),
    }
}

/// Let go of a finished report without freeing it: the process is about to
/// end and the system takes its memory back at once, where freeing its
/// strings one by one only costs time (`dedup` on Reuters: 5% less CPU
/// time, together with streaming its report instead of buffering it).
fn end_with<T>(report: T) {
    std::mem::forget(report);
}

fn emit(report: &Report, output: &OutputArgs) -> Result<ExitCode> {
    write_to(output, |out| match output.format {
        Format::Text => write_text(report, out),
        Format::Json => write_json(report, out),
        Format::Html => wiretrace::write_html(report, out),
        Format::Csv => wiretrace::write_csv(report, out),
        Format::Dot => wiretrace::write_dot(report, out),
    })?;
    Ok(exit_code(report.skipped.is_empty()))
}

fn run_index(action: IndexCommand) -> Result<ExitCode> {
    use std::io::IsTerminal;
    match action {
        IndexCommand::Add { db, batch, input } => {
            // Texts past the default budget wait in a temporary file and
            // are read back a batch at a time.
            let corpus = read_inputs(&input, TEXT_MEMORY_MB << 20)?;
            let index = wiretrace::Index::open(&db)?;
            let bar = if std::io::stderr().is_terminal() {
                indicatif::ProgressBar::new(corpus.documents.len() as u64)
            } else {
                indicatif::ProgressBar::hidden()
            };
            let (mut added, mut already, mut conflicts) = (0usize, 0usize, 0usize);
            // One write transaction (one commit) per batch.
            for batch in corpus.documents.chunks(batch as usize) {
                for (doc, outcome) in batch.iter().zip(index.add_batch(batch)?) {
                    match outcome {
                        wiretrace::AddOutcome::Added => added += 1,
                        wiretrace::AddOutcome::AlreadyIndexed => already += 1,
                        wiretrace::AddOutcome::Conflict => {
                            conflicts += 1;
                            bar.suspend(|| {
                                eprintln!(
                                    "wiretrace: conflict: {} ({}) is already indexed with another text; not overwritten",
                                    doc.id, doc.path
                                )
                            });
                        }
                    }
                }
                bar.inc(batch.len() as u64);
            }
            bar.finish_and_clear();
            println!(
                "indexed {added} new, {already} already indexed, {conflicts} conflicts, {} inputs skipped",
                corpus.skipped.len()
            );
            Ok(exit_code(corpus.skipped.is_empty() && conflicts == 0))
        }
        IndexCommand::Check { db, input, output } => {
            let corpus = read_inputs(&input, u64::MAX)?;
            let index = wiretrace::Index::open_existing(&db)?;
            let mut report = index.check(corpus.documents)?;
            report.skipped = corpus.skipped;
            report.warnings = corpus.warnings;
            emit(&report, &output)
        }
        IndexCommand::Stats { db, format } => {
            let index = wiretrace::Index::open_existing(&db)?;
            let s = index.stats()?;
            let text = match format {
                StatsFormat::Json => serde_json::to_string_pretty(&s)? + "\n",
                StatsFormat::Text => format!(
                    "documents: {}\noutlets: {}\nbytes: {}\nband keys: {}\noutlet sketch: {} counters a row\n",
                    s.documents, s.outlets, s.bytes, s.band_keys, s.outlet_sketch_counters
                ),
            };
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .context("writing to standard output")?;
            Ok(0)
        }
        IndexCommand::Export { db } => {
            let index = wiretrace::Index::open_existing(&db)?;
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            index.for_each(|doc| {
                let line = serde_json::to_string(&doc).map_err(|e| wiretrace::Error::Io {
                    what: "standard output".into(),
                    source: e.into(),
                })?;
                writeln!(stdout, "{line}").map_err(|e| wiretrace::Error::Io {
                    what: "standard output".into(),
                    source: e,
                })
            })?;
            stdout.flush().context("writing to standard output")?;
            Ok(0)
        }
    }
}
