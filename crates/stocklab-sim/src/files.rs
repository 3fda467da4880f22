//! The files `--history` and `--json` write.
//!
//! A history is one experiment's: with several strategies, `--history run.jsonl` writes
//! `run.unsafe.jsonl`, `run.atomic.jsonl`, ... so that each file is one history the checker
//! can read on its own.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use stocklab_check::History;
use stocklab_check::history::{Operation, Record};

use crate::error::SimError;
use crate::experiment::{Experiment, StrategyResult};

/// Writes `history` as JSON Lines: start, operations, end.
pub fn write_history(path: &Path, history: &History) -> Result<(), SimError> {
    let failed = |source| SimError::Write {
        path: path.to_owned(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(failed)?);
    write_line(&mut out, &Record::Start(history.start.clone())).map_err(failed)?;
    for op in &history.ops {
        // Borrowed, with the tag that `Record::Op` would add, rather than a clone of each.
        write_line(&mut out, &OpLine { kind: "op", op }).map_err(failed)?;
    }
    if let Some(end) = &history.end {
        write_line(&mut out, &Record::End(end.clone())).map_err(failed)?;
    }
    out.flush().map_err(failed)
}

/// `Record::Op`'s JSON, from a borrowed operation.
#[derive(Serialize)]
struct OpLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    op: &'a Operation,
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// Where the history of `result` goes, given `--history PATH` and how many strategies ran.
pub fn history_path(path: &Path, result: &StrategyResult, strategies: usize) -> PathBuf {
    if strategies <= 1 {
        return path.to_owned();
    }
    let name = result
        .choice
        .strategy
        .map_or("default", |strategy| strategy.name());
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let file = match path.extension() {
        Some(extension) => format!("{stem}.{name}.{}", extension.to_string_lossy()),
        None => format!("{stem}.{name}"),
    };
    path.with_file_name(file)
}

/// Writes the whole result (instances, per strategy the numbers and the checker's report).
pub fn write_json(path: &Path, experiment: &Experiment) -> Result<(), SimError> {
    let failed = |source| SimError::Write {
        path: path.to_owned(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(failed)?);
    serde_json::to_writer_pretty(&mut out, experiment).map_err(|error| failed(error.into()))?;
    out.write_all(b"\n").map_err(failed)?;
    out.flush().map_err(failed)
}
